import django_tables2 as tables

from registration.models import Campaign, TextingNumber
from subscribers import phones

_STATUS = '<span class="badge badge-{{ record.status }}">{{ record.get_status_display }}</span>'

_NUMBER_ACTIONS = """{% load registration_tags %}
{% if record.sms_enabled %}
<a class="button" href="{% url 'registration:number_disable' record.pk %}"
   hx-post="{% url 'registration:number_disable' record.pk %}" hx-confirm="Remove texting from {{ record.phone|national }}? {{ record.user.get_username }} will no longer text from it."
   hx-target="#numbers" hx-swap="outerHTML">Remove texting</a>
{% else %}
<a class="button" href="{% url 'registration:number_enable' record.pk %}"
   hx-post="{% url 'registration:number_enable' record.pk %}" hx-confirm="Enable texting from {{ record.phone|national }} for {{ record.user.get_username }}? Any other number of theirs stops texting."
   hx-target="#numbers" hx-swap="outerHTML">Enable texting</a>
{% endif %}
<a class="button" href="{% url 'registration:number_remove' record.pk %}"
   hx-post="{% url 'registration:number_remove' record.pk %}" hx-confirm="Remove {{ record.phone|national }} from {{ record.user.get_username }}?"
   hx-target="#numbers" hx-swap="outerHTML">Remove number</a>
"""


class CampaignTable(tables.Table):
    use_case = tables.LinkColumn("registration:campaign", args=[tables.A("pk")], verbose_name="Use case")
    status = tables.TemplateColumn(_STATUS, verbose_name="Status")
    submitted_at = tables.DateTimeColumn(format="M j, Y g:i a T", verbose_name="Submitted")
    decided_at = tables.DateTimeColumn(format="M j, Y g:i a T", verbose_name="Answered")

    class Meta:
        model = Campaign
        fields = ["use_case", "status", "submitted_at", "decided_at"]
        order_by = ["-submitted_at"]
        empty_text = "No campaigns yet."
        attrs = {"id": "campaign-table"}


class TextingNumberTable(tables.Table):
    phone = tables.Column(verbose_name="Number")
    user = tables.Column(accessor="user__username", verbose_name="User")
    sms_enabled = tables.TemplateColumn(
        '{% if record.sms_enabled %}<span class="badge badge-verified">SMS-enabled</span>'
        '{% else %}<span class="badge">Not texting</span>{% endif %}',
        verbose_name="Texting",
    )
    actions = tables.TemplateColumn(_NUMBER_ACTIONS, verbose_name="Actions", orderable=False)

    class Meta:
        model = TextingNumber
        fields = ["phone", "user", "sms_enabled", "actions"]
        order_by = ["user", "phone"]
        empty_text = "No numbers are assigned yet."

    def render_phone(self, value):
        return phones.format_national(value)
