import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from imports.models import ImportConfiguration, ImportResult, ImportRun, Layout, Mode, ResultOutcome, Stage
from imports.selectors import OUTCOME_ORDER, figure_value
from subscribers import phones

TEMPLATE = "imports/_table.html"


def _tags(names) -> str:
    if not names:
        return "–"
    return format_html_join("", '<span class="tag">{}</span>', ((name,) for name in names))


def _when(value) -> str:
    if value is None:
        return "–"
    return format_html(
        '<time datetime="{}">{}</time>',
        value.isoformat(),
        timezone.localtime(value).strftime("%b %-d, %Y, %-I:%M %p %Z"),
    )


class ResultTable(tables.Table):
    row_number = tables.Column("Row", attrs={"td": {"class": "num"}, "th": {"class": "num"}}, empty_values=())
    phone = tables.Column("Number", attrs={"td": {"class": "nowrap"}}, empty_values=())
    outcome = tables.Column("What happened", empty_values=())
    tags = tables.Column("Tags in the file", orderable=False)
    changes = tables.Column("Tag changes", accessor="tags_added", orderable=False, empty_values=())
    reason = tables.Column("Why", orderable=False, empty_values=())

    class Meta:
        model = ImportResult
        fields = ("row_number", "phone", "outcome", "tags", "changes", "reason")
        template_name = TEMPLATE
        empty_text = "No numbers match."
        attrs = {"class": "results"}
        order_by = ("id",)

    def render_row_number(self, value):
        return value if value is not None else "–"

    def render_phone(self, value, record):
        if value:
            return phones.format_national(value)
        if record.raw_value:
            return format_html('<span class="muted" title="As the file has it">{}</span>', record.raw_value)
        return "–"

    def render_outcome(self, value, record):
        label = ResultOutcome(value).label if value in ResultOutcome.values else value
        badge = format_html('<span class="badge badge-{}">{}</span>', value, label)
        if record.is_new:
            badge = format_html('{} <span class="badge badge-new">New</span>', badge)
        return badge

    def render_tags(self, value):
        return _tags(value)

    def render_changes(self, record):
        parts = [format_html('<span class="tag tag-added">+ {}</span>', n) for n in record.tags_added or ()]
        parts += [format_html('<span class="tag tag-removed">− {}</span>', n) for n in record.tags_removed or ()]
        if not parts:
            return "–"
        return format_html_join("", "{}", ((p,) for p in parts))

    def render_reason(self, value, record):
        if not value:
            return ""
        text = record.reason_text
        if record.raw_value and record.phone:
            return format_html("{} <span class='muted'>(the file has “{}”)</span>", text, record.raw_value)
        return text


class RunTable(tables.Table):
    created_at = tables.Column("When", attrs={"td": {"class": "nowrap"}})
    started_by = tables.Column("Who", empty_values=(), order_by=("started_by__username",))
    source = tables.Column("Source")
    file_name = tables.Column("File", linkify=lambda record: reverse("imports:run", args=[record.pk]))
    layout = tables.Column("Layout", empty_values=(), orderable=False)
    mode = tables.Column("Mode", empty_values=(), orderable=False)
    counts = tables.Column("Outcome", empty_values=(), orderable=False)
    stage = tables.Column("Stage")

    class Meta:
        model = ImportRun
        fields = ("created_at", "started_by", "source", "file_name", "layout", "mode", "counts", "stage")
        template_name = TEMPLATE
        empty_text = "No imports yet."
        order_by = ("-created_at",)

    def render_created_at(self, value):
        return _when(value)

    def render_started_by(self, value):
        return value.get_username() if value else "–"

    def render_file_name(self, value, record):
        name = value or f"Import #{record.pk}"
        if record.dry_run:
            return format_html('{} <span class="badge">Preview</span>', name)
        if record.undo_of_id:
            return format_html('{} <span class="badge">Undo</span>', name)
        return name

    def render_layout(self, record):
        if record.layout == Layout.ALP:
            if record.configuration is None:
                return "ALP configuration (deleted)"
            return f"{record.configuration.name} (v{record.configuration_version or record.configuration.version})"
        return "Preformatted"

    def render_mode(self, record):
        if record.undo_of_id:
            return f"Undo of import #{record.undo_of_id}"
        if record.mode == Mode.STANDARD:
            return record.get_action_display()
        return record.get_mode_display()

    def render_counts(self, record):
        # A run that changed nothing must not read as if it had: its counts are only what it would have done.
        if record.stage == Stage.CANCELLED:
            return "Cancelled: nothing changed"
        if record.stage == Stage.FAILED:
            return "Failed: nothing changed"
        counts = record.counts or {}
        parts = []
        for key, label in OUTCOME_ORDER:
            value = figure_value(counts, key)
            if value:
                text = f"{value:,} {label.lower()}"
                if key == "opted_in" and counts.get("new"):
                    text += f" ({counts['new']:,} new)"
                parts.append(text)
        if not parts:
            return "–"
        text = " · ".join(parts)
        if record.dry_run or record.stage == Stage.AWAITING_CONFIRMATION:
            return f"Would be: {text}"
        return text

    def render_stage(self, value, record):
        label = Stage(value).label if value in Stage.values else value
        return format_html('<span class="badge badge-{}">{}</span>', value, label)


class ConfigurationTable(tables.Table):
    name = tables.Column("Name", linkify=lambda record: reverse("imports:config", args=[record.pk]))
    mode = tables.Column("Mode", orderable=False)
    version = tables.Column("Version", attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    status = tables.Column("Status", empty_values=(), orderable=False)
    updated_at = tables.Column("Last changed", attrs={"td": {"class": "nowrap"}})

    class Meta:
        model = ImportConfiguration
        fields = ("name", "mode", "version", "status", "updated_at")
        template_name = TEMPLATE
        empty_text = "No configurations yet. Create one from a sample of your billing system's export."

    def render_mode(self, value, record):
        return format_html('{}<span class="help">{}</span>', record.get_mode_display(), record.missing_text)

    def render_status(self, record):
        return configuration_status(record)

    def render_updated_at(self, value):
        return _when(value)


def configuration_status(configuration: ImportConfiguration) -> str:
    if configuration.retired_at:
        return mark_safe('<span class="badge">Retired</span>')
    if configuration.is_approved:
        return mark_safe('<span class="badge badge-done">Approved</span>')
    return mark_safe('<span class="badge badge-awaiting_confirmation">Needs approval</span>')
