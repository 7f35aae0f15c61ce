"""Forms for the managers' pages. They validate only; the views hand cleaned data to services."""

from django import forms
from django.db.models.functions import Lower

from subscribers import numberfacts, phones, services
from subscribers.models import LANGUAGE_CHOICES, Account, Status, Subscriber, Tag
from subscribers.selectors import SubscriberFilter
from subscribers.transitions import State, decide
from subscribers.vocabulary import LIST_ACTIONS, TAG_ACTIONS

PER_PAGE_CHOICES = [(25, "25"), (50, "50"), (100, "100")]


def _line_type_choices() -> list[tuple[str, str]]:
    # What other apps know about a number (numberfacts: the carriers' line type, or the unreachable flag), asked
    # when a form is built: the providers register once the apps are ready, after this module may be imported.
    return [("", "Any line type"), *numberfacts.filter_choices()]


def _tag_names(text: str) -> list[str]:
    """Tags typed as one comma-separated field."""
    return services.tag_names_clean(part for part in (text or "").split(","))


class TagNamesField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 4000)
        kwargs.setdefault("help_text", "Separate tags with commas, e.g. “District 2, Feeder B3”.")
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return _tag_names(value)
        except services.InvalidTag as exc:
            raise forms.ValidationError(exc.detail, code=exc.code)


class FilterForm(forms.Form):
    """The list's search and filters, read from the query string so a view can be bookmarked."""

    q = forms.CharField(
        label="Search numbers",
        required=False,
        max_length=40,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Any part of the number", "autocomplete": "off"}
        ),
    )
    status = forms.ChoiceField(label="Status", required=False, choices=[("", "Any status"), *Status.choices])
    tags = forms.TypedMultipleChoiceField(
        label="Tags", required=False, coerce=int, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    match = forms.ChoiceField(
        label="Numbers with",
        required=False,
        choices=[("any", "any of these tags"), ("all", "all of these tags")],
        initial="any",
        widget=forms.RadioSelect,
    )
    per_page = forms.TypedChoiceField(
        label="Rows per page", required=False, coerce=int, choices=PER_PAGE_CHOICES, empty_value=25
    )
    line_type = forms.ChoiceField(label="Line type", required=False, choices=_line_type_choices)

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tags"].choices = list(
            Tag.objects.filter(account=account).order_by(Lower("name")).values_list("id", "name")
        )

    def to_filter(self) -> SubscriberFilter:
        """The filter to apply: what validated, nothing for what did not (a bad link still lists numbers)."""
        data = self.cleaned_data if self.is_bound and hasattr(self, "cleaned_data") else {}
        return SubscriberFilter(
            q=data.get("q", "").strip(),
            status=data.get("status", ""),
            tag_ids=tuple(data.get("tags") or ()),
            match_all=data.get("match") == "all",
            line_type=data.get("line_type", ""),
        )


class AddForm(forms.Form):
    phone = forms.CharField(
        label="Phone number",
        max_length=40,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off", "placeholder": "(218) 555-0134"}),
        help_text="A US or Canadian mobile number, in any usual format.",
    )
    tags = TagNamesField(label="Tags")

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account

    def clean_phone(self):
        try:
            e164 = services.phone_normalise(self.cleaned_data["phone"])
        except services.InvalidPhone as exc:
            raise forms.ValidationError(exc.detail, code=exc.code)
        existing = Subscriber.objects.filter(account=self.account, phone=e164).first()
        if existing is not None:
            state = State.of(existing.status, existing.opted_out_by)
            refusal = decide(services.Action.OPT_IN, state)
            if isinstance(refusal, services.Refusal):
                raise forms.ValidationError(refusal.detail, code=refusal.code)
            raise forms.ValidationError(
                f"{phones.format_national(e164)} is already on the list ({existing.get_status_display().lower()}). "
                "Open it from the list to change its tags or status.",
                code="exists",
            )
        return e164


class TagsForm(forms.Form):
    tags = TagNamesField(label="Tags", widget=forms.TextInput(attrs={"list": "known-tags", "autocomplete": "off"}))


BULK_ACTIONS = [(action.value, words.label) for action, words in LIST_ACTIONS.items()]


class BulkForm(forms.Form):
    action = forms.ChoiceField(label="Action", choices=[("", "Choose an action…"), *BULK_ACTIONS])
    scope = forms.ChoiceField(
        label="Apply to",
        choices=[("selected", "the selected numbers"), ("all", "all numbers matching the filter")],
        initial="selected",
        widget=forms.RadioSelect,
    )
    selected = forms.TypedMultipleChoiceField(required=False, coerce=int)
    tag = forms.CharField(label="Tag", required=False, max_length=Tag.MAX_LENGTH + 20)
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any id may be posted; the view keeps only the current account's numbers.
        self.fields["selected"].valid_value = lambda value: True

    def clean(self):
        data = super().clean()
        action = data.get("action")
        if data.get("scope") == "selected" and not data.get("selected"):
            raise forms.ValidationError("Select at least one number, or choose “all numbers matching the filter”.")
        if action in TAG_ACTIONS:
            try:
                names = _tag_names(data.get("tag", ""))
            except services.InvalidTag as exc:
                self.add_error("tag", exc.detail)
                return data
            if not names:
                self.add_error("tag", "Enter the tag to add or remove.")
            else:
                data["tag"] = names[0]
        return data


class TagRenameForm(forms.Form):
    name = forms.CharField(label="New name", max_length=Tag.MAX_LENGTH)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Enter a name.")
        return name


class TagMergeForm(forms.Form):
    into = forms.TypedChoiceField(label="Merge into", coerce=int)

    def __init__(self, *args, account: Account, tag: Tag, **kwargs):
        super().__init__(*args, **kwargs)
        others = Tag.objects.filter(account=account).exclude(pk=tag.pk).order_by(Lower("name"))
        self.fields["into"].choices = [("", "Choose a tag…"), *others.values_list("id", "name")]


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)")], initial="csv")


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label="Language", choices=LANGUAGE_CHOICES,
        help_text="Every text to this number (replies, requests, alerts with a body in it) goes in this language.",
    )  # fmt: skip
