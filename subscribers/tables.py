"""django-tables2 tables of the managers' pages."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from subscribers import phones
from subscribers.models import Subscriber, Tag
from subscribers.vocabulary import opted_out_by_words


class SelectColumn(tables.Column):
    """A checkbox per row for bulk actions, labelled with its number for screen readers."""

    def __init__(self, **kwargs):
        super().__init__(accessor="pk", orderable=False, verbose_name="", **kwargs)

    def header(self):
        return mark_safe('<span class="visually-hidden">Select</span>')

    def render(self, value, record):
        return format_html(
            '<input type="checkbox" name="selected" value="{}" aria-label="Select {}" form="bulk-form">',
            value,
            phones.format_national(record.phone),
        )


class SubscriberTable(tables.Table):
    select = SelectColumn(attrs={"td": {"class": "select"}, "th": {"class": "select"}})
    phone = tables.Column(verbose_name="Phone", attrs={"td": {"class": "nowrap"}})
    # Every order ends on the phone, so that paging through equal values never repeats or skips a row.
    status = tables.Column(verbose_name="Status", order_by=("status", "phone"))
    tags = tables.Column(verbose_name="Tags", orderable=False, empty_values=())
    first_seen = tables.DateTimeColumn(
        verbose_name="First seen", format="M j, Y", order_by=("first_seen", "phone"), attrs={"td": {"class": "nowrap"}}
    )
    status_changed = tables.DateTimeColumn(
        verbose_name="Last change",
        format="M j, Y g:i a",
        order_by=("status_changed", "phone"),
        attrs={"td": {"class": "nowrap"}},
    )

    class Meta:
        model = Subscriber
        fields = ("select", "phone", "status", "tags", "first_seen", "status_changed")
        template_name = "subscribers/_numbers_table.html"
        attrs = {"class": "data-table", "id": "numbers"}
        empty_text = "No numbers match."
        row_attrs = {"data-phone": lambda record: record.phone}

    def render_phone(self, value, record):
        url = reverse("subscribers:detail", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, phones.format_national(value))

    def render_status(self, value, record):
        label = record.get_status_display()
        if record.opted_out_by:
            label = f"{label} ({opted_out_by_words(record.opted_out_by, 'to_manager')})"
        return format_html('<span class="badge badge-{}">{}</span>', record.status, label)

    def render_tags(self, record):
        names = sorted((tag.name for tag in record.tags.all()), key=str.lower)
        if not names:
            return mark_safe('<span class="muted">–</span>')
        return format_html_join("", '<span class="tag">{}</span>', ((name,) for name in names))


class TagTable(tables.Table):
    name = tables.Column(verbose_name="Tag")
    opted_in = tables.Column(verbose_name="Opted-in numbers", attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    total = tables.Column(verbose_name="All numbers", attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    actions = tables.Column(verbose_name="", orderable=False, empty_values=())

    class Meta:
        model = Tag
        fields = ("name", "opted_in", "total")
        attrs = {"class": "data-table", "id": "tags"}
        template_name = "subscribers/_table.html"
        empty_text = "No tags yet. Tags come from imports, or add them to numbers."

    def render_name(self, value, record):
        url = reverse("subscribers:list") + f"?tags={record.pk}"
        return format_html('<a href="{}">{}</a>', url, value)

    def render_opted_in(self, value):
        return f"{value:,}"

    def render_total(self, value):
        return f"{value:,}"

    def render_actions(self, record):
        url = reverse("subscribers:tag", args=[record.pk])
        # The tag's name goes to screen readers in the link's label, not as hidden text that copies and plain-text
        # views show as a second name in the row.
        return format_html(
            '<a href="{}" aria-label="Rename, merge or delete {}">Rename, merge or delete</a>', url, record.name
        )
