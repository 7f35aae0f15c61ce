"""The dashboard: the list's own figures beside those of imports, the inbox and the first steps, each read from
its own app's selectors and composed here, so that no app below needs to know the others."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from front.selectors import first_run_guide
from imports import selectors as import_selectors
from messaging.inbound import inbox_open
from subscribers import charts, selectors, services
from subscribers.tenancy import manager_required


@manager_required
def dashboard(request):
    account = request.account
    counts = selectors.status_counts(account=account)
    days = selectors.daily_opt_changes(account=account)
    context = {
        "counts": counts,
        "total": sum(counts.values()),
        "top_tags": selectors.top_tags(account=account),
        "events": selectors.latest_events(account=account),
        "imports": import_selectors.latest_imports(account=account),
        "held_imports": import_selectors.held_imports(account=account),
        "imports_url": _url_or_none("imports:history"),
        "days": days,
        "days_in": sum(d.opted_in for d in days),
        "days_out": sum(d.opted_out for d in days),
        "chart": charts.opt_changes(days, label=f"Numbers opted in and out per day over the last {len(days)} days"),
        "month_start": selectors.month_start(account),
        "new_this_month": selectors.new_numbers_since(account=account, since=selectors.month_start(account)),
        "inbox": _inbox_summary(account),
        "guide": first_run_guide(account=account),
        "lost_imports": import_selectors.lost_imports(account=account),
    }
    return render(request, "subscribers/dashboard.html", context)


def _inbox_summary(account) -> dict:
    """Texts that may be revocations, left open in the inbox, and the nearest deadline to honour one."""
    open_items = inbox_open(account=account)
    first = open_items.values_list("respond_by", flat=True).first()
    return {"count": open_items.count(), "respond_by": first}


@manager_required
@require_POST
def guide_dismiss(request):
    services.account_guide_dismiss(account=request.account)
    messages.info(request, "The first-steps guide is hidden.")
    return redirect("dashboard")


def _url_or_none(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None
