"""Panels that other apps' pages show: a number's line, the list's health, an import's lookups."""

from django import template
from django.conf import settings

from lines import lookups, selectors, services
from lines.models import LandlinePolicy, LineType
from subscribers import charts

register = template.Library()


@register.inclusion_tag("lines/_number_line.html", takes_context=True)
def number_line_panel(context, subscriber):
    account = context["request"].account
    line = selectors.number_line(account=account, phone=subscriber.phone)
    policy = services.line_settings_get(account=account).landline_policy
    return {
        "request": context["request"],
        "csrf_token": context.get("csrf_token"),
        "subscriber": subscriber,
        "line": line,
        "landline_blocked": line is not None and line.line_type == LineType.LANDLINE and policy == LandlinePolicy.BLOCK,
        "events": list(selectors.line_events(account=account, phone=subscriber.phone)[:20]),
        "unreachable_after": settings.ALERT_UNREACHABLE_AFTER,
    }


@register.inclusion_tag("lines/_list_health.html", takes_context=True)
def list_health_panel(context):
    account = context["request"].account
    health = selectors.list_health(account=account)
    items = [(label, n) for _, label, n in health["line_types"]] + [
        ("Unreachable", health["unreachable"]),
        ("Reassigned", health["reassigned_month"]),
    ]
    return {
        "request": context["request"],
        "health": health,
        "chart": charts.bars(items, label="Numbers by line type, unreachable, and reassigned this month"),
    }


@register.inclusion_tag("lines/_import_lookups.html", takes_context=True)
def import_lookups_panel(context, run):
    return {"request": context["request"], "pass": lookups.lookup_run_for_import(import_run=run)}


@register.inclusion_tag("lines/_lookup_usage.html", takes_context=True)
def lookup_usage_panel(context):
    account = context["request"].account
    usage = selectors.lookups_by_month(account=account)
    return {"request": context["request"], "usage": usage, "total": sum(u.lookups for u in usage)}
