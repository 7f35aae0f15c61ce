from django import forms

from registration import rules
from registration.models import Brand, Campaign
from registration.services import RegistrationError, texting_number_parse
from subscribers import phones

SAMPLE_FIELDS = [f"sample_{number}" for number in range(1, rules.SAMPLES_COUNT[1] + 1)]


class BrandForm(forms.ModelForm):
    class Meta:
        model = Brand
        fields = [
            "legal_name",
            "tax_id",
            "entity_type",
            "vertical",
            "street",
            "city",
            "state",
            "postal_code",
            "country",
            "website",
            "contact_name",
            "contact_title",
            "support_email",
            "support_phone",
        ]
        labels = {"legal_name": "Legal name", "website": "Website", "support_email": "Support email"}
        help_texts = {
            "legal_name": "Exactly as registered with the IRS (or the Canada Revenue Agency).",
            "tax_id": "The EIN, nine digits: NN-NNNNNNN.",
            "support_phone": "A US or Canadian number people can call for help.",
            "contact_name": "First and last name of the person who answers for the registration.",
        }
        widgets = {
            "support_phone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "website": forms.URLInput(attrs={"placeholder": "https://"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.support_phone:
            self.initial["support_phone"] = phones.format_national(self.instance.support_phone)

    def clean_tax_id(self):
        ein = rules.ein_normalise(self.cleaned_data["tax_id"])
        if ein is None:
            raise forms.ValidationError(
                "Enter the EIN as nine digits, NN-NNNNNNN; its first two digits must be a prefix the IRS assigns."
            )
        return ein

    def clean_support_phone(self):
        try:
            return texting_number_parse(self.cleaned_data["support_phone"])
        except RegistrationError as exc:
            raise forms.ValidationError(str(exc))

    def clean(self):
        cleaned = super().clean()
        refused = set(self.errors)
        for problem in rules.brand_problems(cleaned):
            if problem.field not in refused:
                self.add_error(problem.field, problem.message)
        return cleaned


class CampaignForm(forms.ModelForm):
    sample_1 = forms.CharField(label="Sample message 1", widget=forms.Textarea(attrs={"rows": 2}))
    sample_2 = forms.CharField(label="Sample message 2", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    sample_3 = forms.CharField(label="Sample message 3", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    sample_4 = forms.CharField(label="Sample message 4", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    sample_5 = forms.CharField(label="Sample message 5", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    class Meta:
        model = Campaign
        fields = [
            "use_case",
            "description",
            "message_flow",
            "has_embedded_links",
            "has_embedded_phone",
            "opt_in_keywords",
            "opt_in_message",
            "opt_out_keywords",
            "opt_out_message",
            "help_keywords",
            "help_message",
        ]
        labels = {
            "message_flow": "Message flow",
            "has_embedded_links": "Messages contain links",
            "has_embedded_phone": "Messages contain phone numbers",
            "opt_in_keywords": "Opt-in keywords",
            "opt_in_message": "Opt-in reply",
            "opt_out_keywords": "Opt-out keywords",
            "opt_out_message": "Opt-out reply",
            "help_keywords": "Help keywords",
            "help_message": "Help reply",
        }
        help_texts = {
            "description": "What these texts are for, 40 to 4,096 characters.",
            "message_flow": "How people opt in (keyword, web form, customer service…), 40 to 2,048 characters.",
            "opt_in_keywords": "Single words, separated by commas.",
            "opt_out_keywords": "Must include STOP.",
            "help_keywords": "Must include HELP.",
            "opt_in_message": "Must name the brand and say “Msg&Data rates may apply. Reply HELP for help, STOP to opt out.”",
            "help_message": "Must name the brand and give a support phone number or email.",
        }
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "message_flow": forms.Textarea(attrs={"rows": 3}),
            "opt_in_message": forms.Textarea(attrs={"rows": 2}),
            "opt_out_message": forms.Textarea(attrs={"rows": 2}),
            "help_message": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, brand_names: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.brand_names = brand_names
        if self.instance.pk:
            for name, sample in zip(SAMPLE_FIELDS, self.instance.sample_messages, strict=False):
                self.initial.setdefault(name, sample)

    def clean(self):
        cleaned = super().clean()
        samples = [cleaned.get(name, "").strip() for name in SAMPLE_FIELDS]
        cleaned["sample_messages"] = [sample for sample in samples if sample]
        fields = {**cleaned, "sample_messages": samples}
        # A field Django already refused (blank, too long) needs no second message about the same value.
        refused = set(self.errors)
        for problem in rules.campaign_problems(fields, brand_names=self.brand_names):
            field = problem.field if problem.field in self.fields else None
            if field not in refused:
                self.add_error(field, problem.message)
        return cleaned

    def registration_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["sample_messages"] = self.cleaned_data["sample_messages"]
        for kind in ("opt_in", "opt_out", "help"):
            data[f"{kind}_keywords"] = ", ".join(rules.keywords_parse(data[f"{kind}_keywords"]))
        return data


class TextingNumberForm(forms.Form):
    user = forms.ModelChoiceField(queryset=None, label="User", empty_label="Choose a user")
    phone = forms.CharField(
        label="Phone number", max_length=40, widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"})
    )

    def __init__(self, *args, users, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
        self.fields["user"].label_from_instance = lambda user: user.get_full_name() or user.get_username()

    def clean_phone(self):
        try:
            return texting_number_parse(self.cleaned_data["phone"])
        except RegistrationError as exc:
            raise forms.ValidationError(str(exc))
