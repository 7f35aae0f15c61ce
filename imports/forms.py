from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat

from imports.fieldmap import FieldMap
from imports.models import MODE_MISSING_TEXT, OUTCOMES, Action, ImportConfiguration, Mode

PREFORMATTED = "preformatted"
CONFIG_PREFIX = "config-"

# ALP configurations use the append modes; "standard" is the Preformatted pass-through.
ALP_MODES = [m for m in Mode if m != Mode.STANDARD]


def too_big_message(size: int | None = None) -> str:
    limit = filesizeformat(settings.MAX_UPLOAD_BYTES)
    it_is = f"This file is {filesizeformat(size)}; " if size else "This file is too large; "
    return (
        f"{it_is}the largest file you can upload is {limit}. "
        "Split it into smaller files (or save it as CSV, which is smaller than Excel) and upload them one at a time."
    )


def _limited_file(uploaded):
    if uploaded is not None and uploaded.size > settings.MAX_UPLOAD_BYTES:
        raise forms.ValidationError(too_big_message(uploaded.size), code="file_too_large")
    if uploaded is not None and uploaded.size == 0:
        raise forms.ValidationError(
            "The file is empty. Check that you picked the right file, then upload it again.", code="empty"
        )
    return uploaded


class UploadForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="A CSV, TXT or Excel (.xlsx) file.",
        error_messages={"required": "Choose the file to upload."},
    )
    layout = forms.ChoiceField(
        label="How the file is laid out",
        widget=forms.RadioSelect,
        initial=PREFORMATTED,
        error_messages={"invalid_choice": "That configuration is no longer approved. Pick another one."},
    )
    action = forms.ChoiceField(
        label="What to do with the numbers (Preformatted only)",
        choices=Action.choices,
        initial=Action.OPT_IN,
        widget=forms.RadioSelect,
        required=False,
    )
    dry_run = forms.BooleanField(
        label="Preview only: show what would change, change nothing",
        required=False,
    )

    def __init__(self, *args, configurations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.configurations = {str(c.pk): c for c in configurations}
        choices = [(PREFORMATTED, "Preformatted: the phone number in column A, tags in the other columns")]
        choices += [(f"{CONFIG_PREFIX}{c.pk}", c.name) for c in configurations]
        self.fields["layout"].choices = choices

    def clean_file(self):
        return _limited_file(self.cleaned_data.get("file"))

    def clean(self):
        data = super().clean()
        layout = data.get("layout") or PREFORMATTED
        data["configuration"] = None
        if layout.startswith(CONFIG_PREFIX):
            configuration = self.configurations.get(layout.removeprefix(CONFIG_PREFIX))
            if configuration is None:
                self.add_error("layout", "That configuration is no longer approved. Pick another one.")
            data["configuration"] = configuration
        data["action"] = data.get("action") or Action.OPT_IN
        return data

    def layout_options(self):
        """The layout radios with their explanation: a configuration's mode in plain words."""
        options = []
        for widget in self["layout"]:
            configuration = self.configurations.get(str(widget.data["value"]).removeprefix(CONFIG_PREFIX))
            options.append((widget, configuration))
        return options


class ResultFilterForm(forms.Form):
    outcome = forms.ChoiceField(
        label="What happened",
        required=False,
        choices=[("", "Everything"), ("new", "New numbers")]
        + [(outcome.value, words.filter or outcome.label) for outcome, words in OUTCOMES.items()],
    )
    number = forms.CharField(label="Number", required=False, max_length=40)
    number.widget.input_type = "search"


class SampleForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="How uploaders will see it, e.g. “Nightly CIS export”.",
    )
    sample = forms.FileField(
        label="Sample file",
        help_text="An export from your billing system (CSV, TXT or .xlsx). It is deleted once it has been tested.",
        error_messages={"required": "Choose a sample file."},
    )

    def __init__(self, *args, configuration: ImportConfiguration | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if configuration is not None:
            # Testing an existing configuration with a new sample: it keeps its name.
            del self.fields["name"]

    def clean_sample(self):
        return _limited_file(self.cleaned_data.get("sample"))


def _mode_choices():
    return [(m.value, m.label) for m in ALP_MODES]


def mode_help():
    return {m.value: MODE_MISSING_TEXT[m] for m in ALP_MODES}


LANGUAGE_COLUMN_HELP = (
    "Optional: each number's language (en, es, fr, or English, Spanish, French…). A blank or unknown value leaves "
    "the number's language as it is."
)


class ColumnsForm(forms.Form):
    """The columns of a configuration, picked from the sample's columns; `cleaned_data["field_map"]` is its FieldMap.

    The sample's delimiter, as detected, is kept in the field map."""

    name = forms.CharField(label="Name", max_length=100)
    phone_columns = forms.MultipleChoiceField(
        label="Phone column(s)",
        widget=forms.CheckboxSelectMultiple,
        help_text="Every phone on a row gets all of that row's tags.",
        error_messages={"required": "Pick at least one phone column."},
    )
    tag_columns = forms.MultipleChoiceField(label="Tag column(s)", widget=forms.CheckboxSelectMultiple, required=False)
    language_column = forms.ChoiceField(label="Language column", required=False, help_text=LANGUAGE_COLUMN_HELP)
    mode = forms.ChoiceField(label="What the import does", choices=_mode_choices, widget=forms.RadioSelect)
    header_row = forms.IntegerField(
        label="Header row", min_value=0, max_value=100, initial=1, help_text="0 if the file has no header row."
    )
    sheet = forms.ChoiceField(label="Sheet", required=False)

    def __init__(self, *args, columns=(), sheets=(), delimiter: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.delimiter = delimiter
        choices = [(c.key, c.label) for c in columns]
        self.fields["phone_columns"].choices = choices
        self.fields["tag_columns"].choices = choices
        self.fields["language_column"].choices = [("", "None"), *choices]
        if sheets:
            self.fields["sheet"].choices = [(s, s) for s in sheets]
        else:
            del self.fields["sheet"]

    def clean(self):
        data = super().clean()
        both = set(data.get("phone_columns") or ()) & set(data.get("tag_columns") or ())
        if both:
            self.add_error("tag_columns", f"A column cannot hold both phones and tags: {', '.join(sorted(both))}.")
        language = data.get("language_column")
        if language and language in set(data.get("phone_columns") or ()) | set(data.get("tag_columns") or ()):
            self.add_error("language_column", "The language column cannot also hold phones or tags.")
        if not self.errors:
            data["field_map"] = _field_map(
                {
                    "phone_columns": data["phone_columns"],
                    "tag_columns": data["tag_columns"],
                    "language_column": data.get("language_column") or None,
                    "header_row": data["header_row"],
                    "delimiter": self.delimiter,
                    "encoding": None,
                    "sheet": data.get("sheet") or None,
                }
            )
        return data

    @staticmethod
    def initial_for(field_map: FieldMap) -> dict:
        return {
            "header_row": field_map.header_row,
            "sheet": field_map.sheet or "",
            "phone_columns": list(field_map.phone_columns),
            "tag_columns": list(field_map.tag_columns),
            "language_column": field_map.language_column or "",
        }


def _field_map(data: dict) -> FieldMap:
    try:
        return FieldMap.load(data)
    except ValueError as exc:
        raise forms.ValidationError(str(exc)) from exc


def _split_columns(value: str) -> list[str]:
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


class ConfigurationForm(forms.Form):
    """Edit a configuration without a sample: columns named by header or letter; `cleaned_data["field_map"]` is its
    FieldMap."""

    name = forms.CharField(label="Name", max_length=100)
    phone_columns = forms.CharField(
        label="Phone column(s)",
        help_text="Header names or column letters, separated by commas, e.g. “PrimaryPhone, MobilePhone” or “C, D”.",
    )
    tag_columns = forms.CharField(
        label="Tag column(s)", required=False, help_text="Header names or letters, separated by commas."
    )
    language_column = forms.CharField(
        label="Language column",
        required=False,
        max_length=100,
        help_text="A header name or letter. " + LANGUAGE_COLUMN_HELP,
    )
    mode = forms.ChoiceField(label="What the import does", choices=_mode_choices, widget=forms.RadioSelect)
    header_row = forms.IntegerField(
        label="Header row", min_value=0, max_value=100, help_text="0 if the file has no header row."
    )
    delimiter = forms.ChoiceField(
        label="Delimiter (CSV)",
        required=False,
        choices=[("", "Detect"), (",", "Comma"), (";", "Semicolon"), ("\t", "Tab"), ("|", "Pipe")],
    )
    encoding = forms.ChoiceField(
        label="Encoding (CSV)",
        required=False,
        choices=[("", "Detect"), ("utf-8", "UTF-8"), ("cp1252", "Windows-1252")],
    )
    sheet = forms.CharField(
        label="Sheet (Excel)", required=False, max_length=100, help_text="Empty for the first sheet."
    )

    def clean_phone_columns(self):
        return _split_columns(self.cleaned_data["phone_columns"])

    def clean_tag_columns(self):
        return _split_columns(self.cleaned_data.get("tag_columns") or "")

    def clean(self):
        data = super().clean()
        if not self.errors:
            data["field_map"] = _field_map(
                {
                    "phone_columns": data["phone_columns"],
                    "tag_columns": data["tag_columns"],
                    "language_column": data["language_column"].strip() or None,
                    "header_row": data["header_row"],
                    "delimiter": data["delimiter"] or None,
                    "encoding": data["encoding"] or None,
                    "sheet": data["sheet"].strip() or None,
                }
            )
        return data

    @staticmethod
    def initial_for(field_map: FieldMap) -> dict:
        return {
            "phone_columns": ", ".join(field_map.phone_columns),
            "tag_columns": ", ".join(field_map.tag_columns),
            "language_column": field_map.language_column or "",
            "header_row": field_map.header_row,
            "delimiter": field_map.delimiter or "",
            "encoding": field_map.encoding or "",
            "sheet": field_map.sheet or "",
        }
