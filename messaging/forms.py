from urllib.parse import urlsplit

from django import forms

from messaging import keywords
from messaging.alerts import MAX_ALERT_LENGTH
from messaging.keywords import keyword_clean
from messaging.models import TEXT_FIELDS, Alert
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
    body_es = forms.CharField(
        label="Spanish version (optional)", max_length=MAX_ALERT_LENGTH, required=False,
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Numbers whose language is Spanish get this one.",
    )  # fmt: skip
    body_fr = forms.CharField(
        label="French version (optional)", max_length=MAX_ALERT_LENGTH, required=False,
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Numbers whose language is French get this one.",
    )  # fmt: skip
    urgent = forms.BooleanField(
        label="Urgent (a safety outage): send at once, even in quiet hours", required=False,
        help_text="Other alerts written in the account's quiet hours wait for their end.",
    )  # fmt: skip
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


# Every language's words: an account's own opt-in keyword cannot be one of them.
RESERVED_WORDS = frozenset().union(
    keywords.STOP_WORDS, keywords.START_WORDS, keywords._HELP_INDEX, keywords.CONFIRM_WORDS
)
TEXT_LABELS = {
    "welcome_text": "Welcome text", "opt_out_text": "Opt-out confirmation", "help_text": "Help text",
    "request_text": "Double opt-in request", "confirmation_text": "Double opt-in confirmation",
}  # fmt: skip
LANGUAGE_NAMES = {"es": "Spanish", "fr": "French"}
YES_WORDS = {"es": "si", "fr": "oui"}


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

    quiet_start = forms.TimeField(label="Quiet hours start", required=False, widget=forms.TimeInput(attrs={"type": "time"}),
                                  help_text="e.g. 21:00, in the account's time zone. Leave both empty for none.")  # fmt: skip
    quiet_end = forms.TimeField(label="Quiet hours end", required=False, widget=forms.TimeInput(attrs={"type": "time"}),
                                help_text="e.g. 08:00. Non-urgent alerts written in between wait until then.")  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The replies in Spanish and French, right after the English ones; empty sends that language's default.
        fields = list(self.fields.items())
        at = [name for name, _ in fields].index("opt_in_keywords")
        extra = {}
        for code, language in LANGUAGE_NAMES.items():
            for name in TEXT_FIELDS:
                extra[f"{name}_{code}"] = forms.CharField(
                    label=f"{TEXT_LABELS[name]} ({language})", required=False, max_length=480,
                    widget=forms.Textarea(attrs={"rows": 2}),
                    help_text=f"Empty: the {language} default with the carrier's words.",
                )  # fmt: skip
        self.fields = dict(fields[:at] + list(extra.items()) + fields[at:])

    def clean(self):
        data = super().clean()
        for code in LANGUAGE_NAMES:
            text = data.get(f"request_text_{code}") or ""
            if text and YES_WORDS[code] not in keywords.words(text) and "yes" not in keywords.words(text):
                self.add_error(
                    f"request_text_{code}", f"The request must ask the phone to reply {YES_WORDS[code].upper()}."
                )
        if (data.get("quiet_start") is None) != (data.get("quiet_end") is None):
            self.add_error("quiet_end", "Give both the start and the end of quiet hours, or neither.")
        return data

    def settings_fields(self) -> dict:
        """cleaned_data as MessagingSettings fields: the translated texts gathered into `translations`."""
        data = dict(self.cleaned_data)
        translations = {}
        for code in LANGUAGE_NAMES:
            texts = {name: data.pop(f"{name}_{code}", "").strip() for name in TEXT_FIELDS}
            translations[code] = {name: text for name, text in texts.items() if text}
        data["translations"] = translations
        return data

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
            if word in RESERVED_WORDS:
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


class RevocationForm(forms.Form):
    """An opt-out request staff received by phone, email, letter or in person."""

    phone = forms.CharField(label="Phone number", max_length=32)
    channel = forms.ChoiceField(label="Received by", choices=[])
    received_on = forms.DateField(label="Received on", widget=forms.DateInput(attrs={"type": "date"}),
                                  help_text="The day the request reached you: the 10 business days run from it.")  # fmt: skip
    note = forms.CharField(label="Note", max_length=200, required=False,
                           help_text="e.g. who took the call, or the email's subject.")  # fmt: skip

    def __init__(self, *args, **kwargs):
        from subscribers.models import Channel

        super().__init__(*args, **kwargs)
        # A text is read in the inbox, not typed in here.
        self.fields["channel"].choices = [(c.value, c.label) for c in Channel if c != Channel.SMS]
