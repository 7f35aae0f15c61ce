from urllib.parse import urlsplit

from django import forms

from messaging.keywords import keyword_clean
from messaging.models import Alert
from messaging.services import MAX_ALERT_LENGTH
from subscribers.models import Tag


class AlertForm(forms.Form):
    body = forms.CharField(
        label="Message",
        max_length=MAX_ALERT_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5, "data-sms-count": "alert-count"}),
        help_text="Plain text. Characters outside the GSM alphabet (emoji, curly quotes) make every segment shorter.",
    )
    target = forms.ChoiceField(label="Send to", choices=Alert.Target.choices, initial=Alert.Target.EVERYONE,
                               widget=forms.RadioSelect)  # fmt: skip
    tags = forms.ModelMultipleChoiceField(label="Tags", queryset=Tag.objects.none(), required=False,
                                          widget=forms.CheckboxSelectMultiple)  # fmt: skip
    repeat_confirmed = forms.BooleanField(label="Yes, send this same message again", required=False)

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tags"].queryset = Tag.objects.filter(account=account).order_by("name")

    def clean(self):
        data = super().clean()
        if data.get("target") in (Alert.Target.ANY, Alert.Target.ALL) and not data.get("tags"):
            self.add_error("tags", "Pick at least one tag, or send to the whole list.")
        if data.get("target") == Alert.Target.EVERYONE:
            data["tags"] = []
        return data


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").replace(",", "\n").splitlines() if line.strip()]


class TextsForm(forms.Form):
    welcome_text = forms.CharField(label="Welcome text", widget=forms.Textarea(attrs={"rows": 3}), max_length=480,
                                   help_text="Sent when a number opts in by keyword, START or UNSTOP.")  # fmt: skip
    opt_out_text = forms.CharField(label="Opt-out confirmation", widget=forms.Textarea(attrs={"rows": 3}),
                                   max_length=480, help_text="Sent once after STOP. No marketing allowed here.")  # fmt: skip
    help_text = forms.CharField(label="Help text", widget=forms.Textarea(attrs={"rows": 3}), max_length=480,
                                help_text="Sent for HELP or INFO.")  # fmt: skip
    request_text = forms.CharField(label="Double opt-in request", widget=forms.Textarea(attrs={"rows": 3}),
                                   max_length=480, help_text="Must ask the phone to reply YES.")  # fmt: skip
    confirmation_text = forms.CharField(label="Double opt-in confirmation", widget=forms.Textarea(attrs={"rows": 3}),
                                        max_length=480, help_text="Sent after YES.")  # fmt: skip
    opt_in_keywords = forms.CharField(label="Opt-in keywords", required=False,
                                      help_text="One word each, separated by commas, e.g. OUTAGE, ALERTS.")  # fmt: skip
    webhook_url = forms.URLField(label="Webhook URL", required=False, assume_scheme="https",
                                 help_text="Other inbound texts are POSTed here as JSON, signed with the secret below.")  # fmt: skip
    widget_origins = forms.CharField(label="Websites allowed to embed the sign-up widget", required=False,
                                     widget=forms.Textarea(attrs={"rows": 2}),
                                     help_text="One origin a line, e.g. https://www.lakeside-coop.example")  # fmt: skip

    def clean_request_text(self):
        value = self.cleaned_data["request_text"]
        if "yes" not in value.lower():
            raise forms.ValidationError("The request must ask the phone to reply YES.")
        return value

    def clean_opt_out_text(self):
        return self.cleaned_data["opt_out_text"]

    def clean_opt_in_keywords(self):
        words = []
        for raw in _lines(self.cleaned_data["opt_in_keywords"]):
            word = keyword_clean(raw)
            if not word:
                raise forms.ValidationError(f"“{raw}” is not one word of letters and digits.")
            if word in ("stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout", "help",
                        "info", "yes", "start", "unstop"):  # fmt: skip
                raise forms.ValidationError(f"“{raw}” is a reserved keyword.")
            if word.upper() not in words:
                words.append(word.upper())
        return words

    def clean_widget_origins(self):
        origins = []
        for raw in _lines(self.cleaned_data["widget_origins"]):
            parts = urlsplit(raw)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
                raise forms.ValidationError(f"“{raw}” is not an origin like https://www.example.com (no path).")
            origin = f"{parts.scheme}://{parts.netloc}".lower()
            if origin not in origins:
                origins.append(origin)
        return origins


class WidgetForm(forms.Form):
    phone = forms.CharField(label="Mobile number", max_length=32,
                            widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}))  # fmt: skip
    consent = forms.BooleanField(label="I agree to receive outage alerts by text message at this number.")


class DoubleOptInForm(forms.Form):
    phone = forms.CharField(label="Phone number", max_length=32)


class OutboxFilterForm(forms.Form):
    q = forms.CharField(label="Number", required=False)
    kind = forms.ChoiceField(label="Kind", required=False)
    status = forms.ChoiceField(label="Status", required=False)

    def __init__(self, *args, **kwargs):
        from messaging.models import DeliveryStatus, MessageKind

        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [("", "All kinds"), *MessageKind.choices]
        self.fields["status"].choices = [("", "All statuses"), *DeliveryStatus.choices]
