"""Exports of the list, or of a filtered view of it, as CSV or XLSX, streamed row by row.

The files are written by alertmanager.tabular, which neutralises every cell that a spreadsheet would read as
a formula and writes XLSX cells as strings.
Phones are written in the national format, "(218) 555-0134", which re-imports as it is and does
not start with "+" the way E.164 does.

A small export is answered at once; a large one runs as an RQ job that writes a file, which the
requester downloads from a link. The job's state is kept in the cache (a day), not in a table.
"""

import secrets
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.db.models import Prefetch
from django.http import QueryDict
from django.utils import timezone

from alertmanager import tabular
from alertmanager.jobqueue import enqueue
from subscribers import numberfacts, phones, signals
from subscribers.models import Account, Tag

if TYPE_CHECKING:
    from subscribers.selectors import SubscriberFilter

# Then a column for each fact other apps know about a number (numberfacts): the line type, the unreachable flag.
OWN_HEADER = ["Phone", "Status", "Opted out by", "Tags", "First seen", "Last change"]
# Up to this many rows an export is written while the manager waits; more goes to a job.
INLINE_MAX = 10_000
CHUNK = 2_000
EXPORT_TTL = 24 * 3600
CONTENT_TYPES = {"csv": tabular.CSV_CONTENT_TYPE, "xlsx": tabular.XLSX_CONTENT_TYPE}


def rows(qs, account: Account) -> Iterator[list[str]]:
    tz = account.tzinfo
    qs = qs.order_by("phone").prefetch_related(Prefetch("tags", queryset=Tag.objects.order_by("name")))
    qs = numberfacts.annotate(qs)
    facts = numberfacts.facts()
    for subscriber in qs.iterator(chunk_size=CHUNK):
        yield [
            phones.format_national(subscriber.phone),
            subscriber.get_status_display(),
            subscriber.get_opted_out_by_display() if subscriber.opted_out_by else "",
            "; ".join(tag.name for tag in subscriber.tags.all()),
            subscriber.first_seen.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            subscriber.status_changed.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
            *(fact.cell(getattr(subscriber, fact.annotation)) for fact in facts),
        ]


def header() -> list[str]:
    return [*OWN_HEADER, *(fact.header for fact in numberfacts.facts())]


def __getattr__(name: str):
    # HEADER depends on the providers, which register when the apps are ready: computed when asked for, so an
    # import of this module before then still gets every column.
    if name == "HEADER":
        return header()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def csv_stream(qs, account: Account) -> Iterator[str]:
    return tabular.csv_chunks(header(), rows(qs, account))


def write_csv(qs, account: Account, path: Path, progress=None) -> int:
    return tabular.write_csv(path, header(), rows(qs, account), progress=progress)


def write_xlsx(qs, account: Account, target, progress=None) -> int:
    """Write an XLSX (path or file object) of one sheet, "Numbers"."""
    return tabular.write_xlsx(target, header(), rows(qs, account), sheet="Numbers", progress=progress)


def xlsx_bytes(qs, account: Account) -> bytes:
    return tabular.xlsx_bytes(header(), rows(qs, account), sheet="Numbers")


def filename(account: Account, fmt: str) -> str:
    stamp = timezone.now().astimezone(account.tzinfo).strftime("%Y-%m-%d")
    return f"{account.slug}-numbers-{stamp}.{fmt}"


# --------------------------------------------------------------------------- the consent record

CONSENT_HEADER = [
    "Phone", "Time", "Record", "What", "Who", "How", "Source", "Import run", "File name", "Widget page",
    "Widget visitor address", "Text received", "Tags added", "Tags removed", "Note", "Text sent", "Delivery status",
]  # fmt: skip


def consent_row(row, tz) -> list[str]:
    """One row of a consent record CSV: an opt event or a text sent (subscribers.selectors)."""
    from subscribers.selectors import ConsentEvent

    when = row.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")
    phone = phones.format_national(row.phone)
    if isinstance(row, ConsentEvent):
        cells = [
            phone, when, "Opt event", row.change, row.who, row.channel, row.source_label,
            str(row.import_run_id or ""), row.file_name, row.page_url, row.client_ip, row.text_received,
            "; ".join(row.tags_added), "; ".join(row.tags_removed), row.note, "", "",
        ]  # fmt: skip
    else:
        status = row.status_label + (f": {row.error}" if row.error else "")
        cells = [
            phone, when, "Text sent", row.kind_label, f"Sent from {row.sender}" if row.sender else "", "Text message",
            "", "", "", "", "", "", "", "", "", row.body, status,
        ]  # fmt: skip
    return cells


def consent_csv_stream(rows_, account: Account) -> Iterator[str]:
    tz = account.tzinfo
    return tabular.csv_chunks(CONSENT_HEADER, (consent_row(row, tz) for row in rows_))


def consent_record_rows(record) -> list:
    """A number's events and texts in one time order, newest last (a text after the event that caused it)."""
    from subscribers.selectors import ConsentText

    return sorted([*record.events, *record.texts], key=lambda row: (row.at, isinstance(row, ConsentText)))


def write_ledger_csv(account: Account, path: Path, progress=None) -> int:
    from subscribers.selectors import consent_ledger

    tz = account.tzinfo
    return tabular.write_csv(
        path, CONSENT_HEADER, (consent_row(row, tz) for row in consent_ledger(account=account)), progress=progress
    )


def ledger_filename(account: Account) -> str:
    stamp = timezone.now().astimezone(account.tzinfo).strftime("%Y-%m-%d")
    return f"{account.slug}-consent-ledger-{stamp}.csv"


# --------------------------------------------------------------------------- background exports


@dataclass
class ExportJob:
    token: str
    account_id: int
    user_id: int
    fmt: str
    query: str  # the filter's query string
    # The filter the list applied (subscribers.selectors.SubscriberFilter, as a dict): the job searches with it
    # as the page did, without parsing the query string again through the page's form.
    filters: dict | None = None
    state: str = "queued"  # queued, running, done, failed
    rows: int = 0
    expected: int = 0
    file_name: str = ""
    error: str = ""
    created: float = 0.0
    kind: str = "numbers"  # or "ledger": the account's consent ledger (CSV only)

    @property
    def path(self) -> Path:
        return export_dir() / f"{self.token}.{self.fmt}"

    @property
    def percent(self) -> int:
        return min(99, int(self.rows * 100 / self.expected)) if self.expected and self.state != "done" else 100

    def save(self) -> None:
        cache.set(_key(self.token), asdict(self), EXPORT_TTL)


def _key(token: str) -> str:
    return f"export:{token}"


def export_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def export_get(token: str) -> ExportJob | None:
    data = cache.get(_key(token)) if token.isalnum() else None
    return ExportJob(**data) if data else None


def export_start(
    *, account: Account, user, fmt: str, query: QueryDict, filters: "SubscriberFilter", expected: int
) -> ExportJob:
    from alertmanager.jobqueue import queue_check

    queue_check("default")
    _sweep()
    job = ExportJob(
        token=secrets.token_hex(16), account_id=account.pk, user_id=user.pk, fmt=fmt, query=query.urlencode(),
        filters=asdict(filters), expected=expected, file_name=filename(account, fmt), created=time.time(),
    )  # fmt: skip
    job.save()
    enqueue("default", "subscribers.jobs.export_run", job.token, job_timeout=3600)
    return job


def ledger_export_start(*, account: Account, user) -> ExportJob:
    """The account's whole consent ledger, written by a job on the `default` queue (it can be millions of rows)."""
    from subscribers.selectors import consent_ledger_size

    _sweep()
    job = ExportJob(
        token=secrets.token_hex(16), account_id=account.pk, user_id=user.pk, fmt="csv", query="",
        expected=consent_ledger_size(account=account), file_name=ledger_filename(account), created=time.time(),
        kind="ledger",
    )  # fmt: skip
    job.save()
    enqueue("default", "subscribers.jobs.export_run", job.token, job_timeout=3600)
    return job


def export_record(*, account: Account, user, fmt: str, described: str, rows: int) -> None:
    signals.exported.send(
        sender=Account,
        account=account,
        user=user,
        action=fmt,
        summary=f"Exported {rows:,} number{'s' if rows != 1 else ''} as {fmt.upper()} ({described})",
        details={"format": fmt, "filter": described, "rows": rows},
    )


def _sweep() -> None:
    """Files of exports older than a day are deleted: their links have expired with them."""
    cutoff = time.time() - EXPORT_TTL
    for path in export_dir().glob("*.*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
        except FileNotFoundError:
            pass


def subscribers_for_export(account: Account, filters: dict):
    """The same numbers the list showed for this filter."""
    from subscribers.selectors import SubscriberFilter, subscriber_search

    search = SubscriberFilter(**{**filters, "tag_ids": tuple(filters.get("tag_ids") or ())})
    return subscriber_search(account=account, filters=search)


def export_run(token: str) -> None:
    job = export_get(token)
    if job is None:
        return
    account = Account.objects.get(pk=job.account_id)
    job.state = "running"
    job.save()

    def progress(n: int) -> None:
        job.rows = n
        job.save()

    partial = job.path.with_suffix(".part")
    try:
        if job.kind == "ledger":
            job.rows = write_ledger_csv(account, partial, progress)
        elif job.filters is None:
            # Queued by a version that kept only the query string: exporting without its filter would write
            # numbers the manager did not ask for.
            raise ValueError("an export queued without its filter")
        elif job.fmt == "xlsx":
            job.rows = write_xlsx(subscribers_for_export(account, job.filters), account, partial, progress)
        else:
            job.rows = write_csv(subscribers_for_export(account, job.filters), account, partial, progress)
        partial.replace(job.path)
        job.state = "done"
    except Exception as exc:  # the requester is told; the worker log has the rest
        job.state = "failed"
        job.error = f"The export could not be written ({exc.__class__.__name__}). Try again, or narrow the filter."
        raise
    finally:
        partial.unlink(missing_ok=True)
        job.save()
