"""Forms of the login steps, the security page and the People page. They validate only."""

from django import forms
from django.contrib.auth import get_user_model

from subscribers.models import Role


class LoginForm(forms.Form):
    username = forms.CharField(label="Username", max_length=150, widget=forms.TextInput(attrs={"autofocus": True}))
    password = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs["autocomplete"] = "username"
        self.fields["password"].widget.attrs["autocomplete"] = "current-password"


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        help_text="The 6-digit code your authenticator app shows, or one of your backup codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}),
    )
    remember = forms.BooleanField(label="Remember this device", required=False)


class SetupForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=10,
        help_text="After adding the account to the app, type the 6-digit code it shows.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "numeric"}),
    )


HOW_CHOICES = [
    ("invite", "Send them an invitation link (valid 72 hours) to choose their own password"),
    ("password", "Give them a first password, shown once"),
]


class PersonAddForm(forms.Form):
    username = forms.CharField(
        label="Username",
        max_length=150,
        help_text="What they log in with. Someone who already logs in to another account keeps that login.",
    )
    email = forms.EmailField(label="Email", required=False, help_text="Used for password reset emails.")
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.UPLOADER)
    how = forms.ChoiceField(label="First login", choices=HOW_CHOICES, initial="invite", widget=forms.RadioSelect)

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        field = get_user_model()._meta.get_field("username")
        for validator in field.validators:
            validator(username)
        return username


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)


class LoginSettingsForm(forms.Form):
    remember_device = forms.BooleanField(
        label="Allow “Remember this device”",
        required=False,
        help_text="Members may then skip the second factor for 30 days on a browser they trust. Off by default.",
    )
