from django import forms


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="Where the key is used, so you know which one to revoke: e.g. “CIS nightly sync”.",
    )
