"""The audit log of the current account, for its managers: a filtered page and the same as CSV."""

import csv

from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from audit.forms import AuditFilterForm
from audit.selectors import audit_entries
from subscribers.exports import neutralise
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


class _Echo:
    def write(self, value):
        return value


@manager_required
def export(request):
    form, entries = _entries(request)
    writer = csv.writer(_Echo())
    tz = request.account.tzinfo

    def rows():
        yield writer.writerow(["time", "kind", "action", "person", "support staff", "address", "summary"])
        for entry in entries.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    timezone.localtime(entry.created_at, tz).isoformat(timespec="seconds"),
                    entry.kind,
                    entry.action,
                    neutralise(entry.actor_name),
                    "yes" if entry.actor_is_staff else "",
                    entry.ip or "",
                    neutralise(entry.summary),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime(timezone.now(), tz).strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{request.account.slug}-{stamp}.csv"'
    return response
