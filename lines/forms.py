from django import forms

from lines.models import LandlinePolicy


class LineSettingsForm(forms.Form):
    landline_policy = forms.ChoiceField(
        label="A number the carriers call a landline",
        choices=LandlinePolicy.choices,
        widget=forms.RadioSelect,
        help_text="Blocked landlines stay on the list (and in exports and counts) but get no alert; the delivery "
        "log shows them as blocked with the reason “landline”.",
    )
