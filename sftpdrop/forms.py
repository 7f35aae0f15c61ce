from django import forms
from django.db.models import F

from sftpdrop import services
from sftpdrop.models import PREFORMATTED_ACTIONS


class CredentialForm(forms.Form):
    public_key = forms.CharField(
        label="SSH public key (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}),
        help_text="Paste the one line of the scheduled job's .pub file to log in with that key instead of a password. "
        "Leave empty to get a generated password.",
    )

    def clean_public_key(self) -> str:
        text = self.cleaned_data["public_key"].strip()
        if text:
            try:
                services.public_key_parse(text)
            except services.CredentialRefused as exc:
                raise forms.ValidationError(exc.detail) from None
        return text


class DropSettingsForm(forms.Form):
    preformatted_default = forms.BooleanField(
        label="Use Preformatted opt-in as the SFTP default",
        required=False,
        help_text="Files are read as Preformatted (phone in column A, tags after it), with the action below.",
    )
    preformatted_action = forms.ChoiceField(
        label="What Preformatted files do",
        choices=PREFORMATTED_ACTIONS,
        initial="opt_in",
        required=False,
        help_text="What happens to the numbers of a Preformatted file dropped here, as on the upload page.",
    )
    configuration = forms.ModelChoiceField(
        label="Approved configuration for SFTP files",
        queryset=None,
        required=False,
        empty_label="The only approved configuration",
        help_text="Needed only when several configurations are approved.",
    )

    def clean_preformatted_action(self) -> str:
        return self.cleaned_data["preformatted_action"] or "opt_in"

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        from imports.models import ImportConfiguration

        self.fields["configuration"].queryset = ImportConfiguration.objects.filter(
            account=account, retired_at=None, approved_at__isnull=False, approved_version=F("version")
        ).order_by("name")
