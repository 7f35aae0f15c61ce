import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from messaging.models import Alert, OutboundMessage


class AlertTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name="Created", format="M j, g:i a T")
    body = tables.Column(verbose_name="Message", orderable=False)
    audience = tables.Column(verbose_name="To", empty_values=(), orderable=False)
    stage = tables.Column(verbose_name="Status")
    sent_count = tables.Column(verbose_name="Sent", attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    blocked_count = tables.Column(verbose_name="Blocked", attrs={"td": {"class": "num"}, "th": {"class": "num"}})
    failed_count = tables.Column(verbose_name="Failed", attrs={"td": {"class": "num"}, "th": {"class": "num"}})

    class Meta:
        model = Alert
        fields = ["created_at", "body", "audience", "stage", "sent_count", "blocked_count", "failed_count"]
        attrs = {"class": "alerts"}
        empty_text = "No alerts sent yet."

    def render_body(self, record):
        text = record.body if len(record.body) <= 80 else record.body[:77] + "…"
        return format_html('<a href="{}">{}</a>', reverse("messaging:alert", args=[record.pk]), text)

    def render_audience(self, record):
        if record.target == Alert.Target.EVERYONE:
            return "The whole list"
        joiner = " or " if record.target == Alert.Target.ANY else " and "
        return joiner.join(record.tag_names)

    def render_stage(self, record):
        return format_html('<span class="badge badge-{}">{}</span>', record.stage, record.get_stage_display())


def _status_badge(record):
    return format_html('<span class="badge badge-{}">{}</span>', record.status, record.get_status_display())


class DeliveryLogTable(tables.Table):
    phone = tables.Column(verbose_name="Number")
    status = tables.Column(verbose_name="Status")
    error = tables.Column(verbose_name="Detail", orderable=False)
    updated_at = tables.DateTimeColumn(verbose_name="Updated", format="M j, g:i:s a T")

    class Meta:
        model = OutboundMessage
        fields = ["phone", "status", "error", "updated_at"]
        empty_text = "No numbers in this alert."

    def render_status(self, record):
        return _status_badge(record)


class OutboxTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name="When", format="M j, g:i:s a T")
    phone = tables.Column(verbose_name="To")
    kind = tables.Column(verbose_name="Kind")
    text = tables.Column(verbose_name="Text", empty_values=(), orderable=False)
    status = tables.Column(verbose_name="Status")

    class Meta:
        model = OutboundMessage
        fields = ["created_at", "phone", "kind", "text", "status"]
        empty_text = "No texts sent yet."

    def render_status(self, record):
        return _status_badge(record)

    def render_text(self, record):
        return record.text
