import django_tables2 as tables
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from api.models import ApiKey

_WHEN = "M j, Y, g:i a T"


class ApiKeyTable(tables.Table):
    name = tables.Column()
    prefix = tables.Column(verbose_name="Key", orderable=False)
    created_at = tables.DateTimeColumn(verbose_name="Created", format=_WHEN)
    created_by = tables.Column(verbose_name="By", default="—")
    last_used_at = tables.DateTimeColumn(verbose_name="Last used", format=_WHEN, default="Never")
    status = tables.Column(accessor="revoked_at", verbose_name="Status", orderable=False, empty_values=())
    actions = tables.Column(accessor="pk", verbose_name="", orderable=False)

    class Meta:
        model = ApiKey
        fields = ("name", "prefix", "created_at", "created_by", "last_used_at", "status", "actions")
        attrs = {"class": "api-keys"}
        empty_text = "No API keys yet. Create one above to connect your billing system."

    def render_prefix(self, value):
        return format_html("<code>{}…</code>", value)

    def render_status(self, record):
        if record.revoked_at is None:
            return mark_safe('<span class="badge badge-opted_in">Active</span>')
        when = formats.date_format(timezone.localtime(record.revoked_at), _WHEN)
        return format_html(
            '<span class="badge badge-opted_out">Revoked</span> <span class="small muted">{}</span>', when
        )

    def render_actions(self, record):
        if record.revoked_at is not None:
            return ""
        url = reverse("api_key_revoke", args=[record.pk])
        return format_html('<a class="button" href="{}">Revoke…</a>', url)
