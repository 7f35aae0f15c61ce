"""The audit log of the current account, for its managers: a filtered page and the same as CSV."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from alertmanager import tabular
from audit.forms import AuditFilterForm
from audit.selectors import audit_entries
from subscribers.tenancy import manager_required


def _entries(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    return form, audit_entries(account=request.account, **{k: v for k, v in filters.items() if v})


@manager_required
def log(request):
    form, entries = _entries(request)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/log.html",
        {"form": form, "page": page, "query": query.urlencode(), "tz": timezone.get_current_timezone_name()},
    )


@manager_required
def export(request):
    form, entries = _entries(request)
    tz = request.account.tzinfo
    rows = (
        (
            timezone.localtime(entry.created_at, tz).isoformat(timespec="seconds"),
            entry.kind,
            entry.action,
            entry.actor_name,
            "yes" if entry.actor_is_staff else "",
            entry.ip or "",
            entry.summary,
        )
        for entry in entries.iterator(chunk_size=tabular.BATCH)
    )
    stamp = timezone.localtime(timezone.now(), tz).strftime("%Y%m%d-%H%M")
    header = ["time", "kind", "action", "person", "support staff", "address", "summary"]
    return tabular.csv_response(f"audit-{request.account.slug}-{stamp}.csv", header, rows, bom=False)
