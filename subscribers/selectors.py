"""Reads that span models: the list of numbers with its filters, the dashboard's and the usage page's figures.

The figures of an account of a million numbers (counts by status, numbers per tag, the daily chart)
take seconds to compute, so they are kept in the cache under a key that changes whenever the
account's list changes: every change of status or tags writes an opt event, and an import run
changes stage as it goes. A figure that is quick to compute is computed again at once; a slow one
(a large account) is served from its previous value while an RQ job computes the new one, so a
busy account's dashboard never waits for it.
"""

import functools
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from alertmanager.jobqueue import enqueue
from subscribers import numberfacts, phones
from subscribers.models import Account, OptEvent, Status, Subscriber, SubscriberTag, Tag
from subscribers.transitions import BILLABLE_STATUSES
from subscribers.vocabulary import opted_out_by_words

# Counting every match of a broad filter on a million rows costs more than the page itself.
COUNT_CAP = 10_000
FIGURES_TIMEOUT = 600
LAST_FIGURES_TIMEOUT = 7 * 24 * 3600
CHART_DAYS = 90


# --------------------------------------------------------------------------- the list


@dataclass(frozen=True)
class SubscriberFilter:
    q: str = ""
    status: str = ""
    tag_ids: tuple[int, ...] = ()
    match_all: bool = False
    line_type: str = ""  # one of numberfacts.filter_choices(): a line type, or "unreachable"

    @property
    def active(self) -> bool:
        return bool(self.q or self.status or self.tag_ids or self.line_type)


def subscriber_search(*, account: Account, filters: SubscriberFilter) -> QuerySet[Subscriber]:
    """The account's working list narrowed by a filter; ordering is left to the caller."""
    qs = Subscriber.objects.listed().filter(account=account)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.tag_ids:
        carrying = SubscriberTag.objects.filter(subscriber=OuterRef("pk"))
        if filters.match_all:
            for tag_id in filters.tag_ids:
                qs = qs.filter(Exists(carrying.filter(tag_id=tag_id)))
        else:
            qs = qs.filter(Exists(carrying.filter(tag_id__in=filters.tag_ids)))
    if filters.q:
        qs = qs.filter(_phone_condition(filters.q))
    if filters.line_type:
        qs = numberfacts.filter_by(qs, filters.line_type)
    return qs


def _phone_condition(text: str) -> Q:
    """What was typed, as a condition on the stored E.164.

    Typed as the start of a number ("+1 512", "1-512", "(512) 55") it is a prefix, which the
    (account, phone text_pattern_ops) index answers; otherwise any part of the number matches,
    which the trigram index answers.
    """
    digits = phones.digits_only(text)
    if not digits:
        return Q(pk__in=[])
    typed = text.strip()
    if typed.startswith("+") or (typed[:2] in ("1-", "1 ", "1.") and len(digits) > 1):
        return Q(phone__startswith="+" + digits)
    if typed.startswith("("):
        return Q(phone__startswith="+1" + digits)
    return Q(phone__contains=digits)


def capped_count(qs: QuerySet, cap: int | None = None) -> tuple[int, bool]:
    """(count, exact): counts at most `cap` + 1 rows, so a broad filter costs a bounded scan."""
    cap = COUNT_CAP if cap is None else cap
    n = qs.order_by()[: cap + 1].count()
    return min(n, cap), n <= cap


# --------------------------------------------------------------------------- the figures


def _figures_key(account: Account, name: str) -> str:
    latest = OptEvent.objects.filter(account=account).order_by("-created_at", "-id").values_list("id", "created_at")
    event = latest.first()
    # The import runs are read through the relation imports declares on the account: the list imports no app.
    run = account.import_runs.order_by("-created_at", "-id").values_list("id", "stage").first()
    tags = Tag.objects.filter(account=account).count()
    stamp = f"{event[0]}.{event[1].timestamp()}" if event else "0"
    return f"{_figures_prefix(account)}:{name}:{stamp}:{run[0] if run else 0}.{run[1] if run else ''}:{tags}"


def _figures_prefix(account: Account) -> str:
    # Every figure's keys, current and last, carry the account's generation, so that figures_forget
    # drops them all at once; a list of the keys written would miss the ones written before it expired.
    generation = cache.get(f"figures:{account.pk}:generation", 0)
    return f"figures:{account.pk}:g{generation}"


# A figure that took longer than this to compute is not computed again while a page waits: the page
# shows the previous value and a job on the default queue brings it up to date.
SLOW_FIGURE_SECONDS = 0.2
_computing_in_job = False


def _cached(account: Account, name: str, compute):
    key = _figures_key(account, name)
    value = cache.get(key)
    if value is not None:
        return value
    last_key = f"{_figures_prefix(account)}:{name}:last"
    last = cache.get(last_key)
    if last is not None and last["seconds"] > SLOW_FIGURE_SECONDS and not _computing_in_job:
        _refresh_later(account)
        return last["value"]
    started = time.perf_counter()
    value = compute()
    cache.set(key, value, FIGURES_TIMEOUT)
    cache.set(last_key, {"value": value, "seconds": time.perf_counter() - started}, LAST_FIGURES_TIMEOUT)
    return value


def _refresh_later(account: Account) -> None:
    if cache.add(f"figures:{account.pk}:refreshing", 1, 300):
        enqueue("default", "subscribers.jobs.figures_refresh", account.pk)


def figures_refresh(*, account: Account) -> None:
    """Compute every cached figure of the dashboard, the tags page and the usage page now."""
    global _computing_in_job
    _computing_in_job = True
    try:
        status_counts(account=account)
        tag_counts(account=account)
        daily_opt_changes(account=account)
        new_numbers_since(account=account, since=month_start(account))
        new_numbers_by_month(account=account)
    finally:
        _computing_in_job = False
        cache.delete(f"figures:{account.pk}:refreshing")


def figures_forget(*, account: Account) -> None:
    """Drop every cached figure of the account, last values included: the next page computes them."""
    cache.set(f"figures:{account.pk}:generation", time.time_ns(), None)


def status_counts(*, account: Account) -> dict[str, int]:
    def compute():
        rows = Subscriber.objects.listed().filter(account=account).values("status").annotate(n=Count("id"))
        counts = {status: 0 for status in Status.values}
        counts.update({row["status"]: row["n"] for row in rows.order_by()})
        return counts

    return _cached(account, "status", compute)


def tag_counts(*, account: Account) -> dict[int, dict[str, int]]:
    """Per tag id: how many listed numbers carry it, and how many of those are opted in."""

    def compute():
        rows = (
            SubscriberTag.objects.filter(tag__account=account, subscriber__removed_at__isnull=True)
            .values("tag_id")
            .annotate(total=Count("id"), opted_in=Count("id", filter=Q(subscriber__status=Status.OPTED_IN)))
            .order_by()
        )
        return {row["tag_id"]: {"total": row["total"], "opted_in": row["opted_in"]} for row in rows}

    return _cached(account, "tags", compute)


def tags_with_counts(*, account: Account) -> list[Tag]:
    counts = tag_counts(account=account)
    tags = list(Tag.objects.filter(account=account).order_by("name"))
    for tag in tags:
        figures = counts.get(tag.pk, {})
        tag.total = figures.get("total", 0)
        tag.opted_in = figures.get("opted_in", 0)
    return tags


def top_tags(*, account: Account, limit: int = 10) -> list[Tag]:
    """The tags carried by the most opted-in numbers."""
    tags = tags_with_counts(account=account)
    tags.sort(key=lambda tag: (-tag.opted_in, tag.name.lower()))
    return tags[:limit]


@dataclass(frozen=True)
class Day:
    day: date
    opted_in: int
    opted_out: int


def daily_opt_changes(*, account: Account, days: int = CHART_DAYS) -> list[Day]:
    """Numbers opted in and opted out per day (in the account's time zone), oldest first, no gaps."""
    tz = account.tzinfo
    today = timezone.now().astimezone(tz).date()
    first = today - timedelta(days=days - 1)

    def compute():
        since = datetime.combine(first, datetime.min.time(), tzinfo=tz)
        rows = (
            OptEvent.objects.filter(account=account, created_at__gte=since)
            .exclude(old_status=F("new_status"))
            .filter(new_status__in=[Status.OPTED_IN, Status.OPTED_OUT])
            .annotate(day=TruncDate("created_at", tzinfo=tz))
            .values("day", "new_status")
            .annotate(n=Count("id"))
            .order_by()
        )
        return {(row["day"], row["new_status"]): row["n"] for row in rows}

    counts = _cached(account, f"daily{days}:{first.isoformat()}", compute)
    return [
        Day(day, counts.get((day, Status.OPTED_IN), 0), counts.get((day, Status.OPTED_OUT), 0))
        for day in (first + timedelta(days=n) for n in range(days))
    ]


def _first_appearances(account: Account) -> QuerySet[OptEvent]:
    """Opt events that made a number opted in (or pending) in the account for the first time: what is billed
    as new.

    A number deleted and added again is not new again: its earlier events are still there. An opt-out,
    suspension or STOP of a number the account never had is recorded (it blocks later imports) but is not
    new; the owner opting in later (START) is, then.
    """
    earlier = OptEvent.objects.filter(
        account=account,
        phone=OuterRef("phone"),
        new_status__in=BILLABLE_STATUSES,
        created_at__lt=OuterRef("created_at"),
    )
    return (
        OptEvent.objects.filter(account=account, new_status__in=BILLABLE_STATUSES)
        .exclude(old_status__in=BILLABLE_STATUSES)
        .filter(~Exists(earlier))
    )


def new_numbers_since(*, account: Account, since: datetime) -> int:
    def compute():
        return _first_appearances(account).filter(created_at__gte=since).values("phone").distinct().count()

    return _cached(account, f"new-since:{since.isoformat()}", compute)


def month_start(account: Account) -> datetime:
    now = timezone.now().astimezone(account.tzinfo)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Month:
    month: date
    new_numbers: int


def new_numbers_by_month(*, account: Account) -> list[Month]:
    """New (billable) numbers per calendar month in the account's time zone, newest first."""
    tz = account.tzinfo

    def compute():
        rows = (
            _first_appearances(account)
            .annotate(month=TruncMonth("created_at", tzinfo=tz))
            .values("month")
            .annotate(n=Count("phone", distinct=True))
            .order_by("-month")
        )
        return [(row["month"], row["n"]) for row in rows]

    return [Month(_as_date(month), n) for month, n in _cached(account, "usage", compute)]


def _as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


def latest_events(*, account: Account, limit: int = 10) -> list[OptEvent]:
    return list(OptEvent.objects.filter(account=account).select_related("user").order_by("-created_at", "-id")[:limit])


def subscriber_history(*, account: Account, phone: str) -> QuerySet[OptEvent]:
    return OptEvent.objects.filter(account=account, phone=phone).select_related("user").order_by("-created_at", "-id")


# --------------------------------------------------------------------------- one number, for the API

DETAIL_FIELDS = ("phone", "status", "opted_out_by", "first_seen", "status_changed", "language")
_SAMPLE_ACCOUNT, _SAMPLE_PHONE = -1, "+10000000000"


def _detail_rows(account_id: int, phone: str) -> QuerySet:
    # One query, the number joined to its tags (a row per tag), instead of the number and then its tags; what
    # other apps know about it (numberfacts: the carriers' line type) comes in the same query.
    qs = numberfacts.annotate(Subscriber.objects.listed().filter(account_id=account_id, phone=phone))
    return qs.values_list(*DETAIL_FIELDS, *(fact.annotation for fact in numberfacts.facts()), "tags__name")


@functools.cache
def _detail_sql() -> str | None:
    """The SQL the ORM writes for _detail_rows, written once a process; None where the database's values
    need converting (SQLite's datetimes), which only the ORM's own way does.

    Building and compiling the queryset took longer than PostgreSQL took to answer it, on the API's
    busiest request (docs/benchmarks.md); the ORM still writes the query, so it keeps `listed()`'s rule.
    """
    compiler = _detail_rows(_SAMPLE_ACCOUNT, _SAMPLE_PHONE).query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    if tuple(params) != (_SAMPLE_ACCOUNT, _SAMPLE_PHONE):  # the order subscriber_detail passes them in
        raise AssertionError(f"unexpected parameters {params!r} in {sql}")
    if compiler.get_converters([expression for expression, *_ in compiler.select]):
        return None
    return sql


def subscriber_detail(*, account_id: int, phone: str) -> dict | None:
    """A listed number's fields and its tags (sorted, any case), or None; `phone` is E.164."""
    sql = _detail_sql()
    if sql is None:
        rows = list(_detail_rows(account_id, phone))
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, [account_id, phone])
            rows = cursor.fetchall()
    if not rows:
        return None
    fields = len(DETAIL_FIELDS)
    data = dict(zip(DETAIL_FIELDS, rows[0][:fields], strict=True))
    for fact, value in zip(numberfacts.facts(), rows[0][fields:-1], strict=True):
        data[fact.name] = fact.value(value)
    data["tags"] = sorted((row[-1] for row in rows if row[-1] is not None), key=str.lower)
    return data


# --------------------------------------------------------------------------- the consent record


@dataclass(frozen=True)
class ConsentEvent:
    """One opt event as a carrier audit or a TCPA claim asks for it: who, when, how, and the evidence."""

    at: datetime
    phone: str
    old_status: str
    new_status: str
    opted_out_by: str
    change: str  # "not on the list → Opted in", or "Tags only (Opted in)"
    source: str
    source_label: str
    who: str
    channel: str  # how the request arrived
    channel_code: str  # a revocation staff recorded: phone, email, letter… (else empty)
    received_on: object  # and the day it reached them
    import_run_id: int | None
    file_name: str
    page_url: str
    client_ip: str
    text_received: str  # the inbound text (STOP, YES, a keyword) that caused it
    message_sid: str
    tags_added: tuple[str, ...]
    tags_removed: tuple[str, ...]
    note: str


@dataclass(frozen=True)
class ConsentText:
    """One text sent to the number."""

    at: datetime
    phone: str
    kind: str
    kind_label: str
    body: str
    status: str
    status_label: str
    error: str
    sender: str


@dataclass(frozen=True)
class ConsentRecord:
    phone: str
    events: list[ConsentEvent]  # oldest first: "newest last", as the record is read
    texts: list[ConsentText]


_STATUS_LABELS = dict(Status.choices)
_OWNER = "The phone's owner"


def _status_label(status: str, opted_out_by: str = "") -> str:
    if not status:
        return "not on the list"
    label = _STATUS_LABELS.get(status, status)
    if status == Status.OPTED_OUT and opted_out_by:
        label += f" ({opted_out_by_words(opted_out_by, 'record')})"
    return label


def _event_who(event) -> str:
    user = event.user.get_username() if event.user_id and event.user else ""
    return {
        "keyword": _OWNER,
        "double_opt_in": _OWNER,
        "carrier": f"{_OWNER}, through the carrier",
        "widget": "A visitor of the web widget",
        "import": user or (f"Import #{event.import_run_id}" if event.import_run_id else "An import"),
        "api": event.note if event.note.startswith("API key") else "The API",
        "expiry": "Nobody: the double opt-in request expired",
        "reassigned": "The reassigned-numbers check",
    }.get(event.source, user or event.get_source_display())


def _event_channel(event) -> str:
    if event.channel and event.channel != "sms":  # a revocation staff recorded from a call, an email or a letter
        return event.get_channel_display()
    if event.source == "keyword" or event.source == "double_opt_in":
        return f"Text to {event.inbound_sender}" if event.inbound_sender else "Text message"
    if event.source == "import":
        return {"web": "File upload", "sftp": "SFTP drop", "api": "File through the API", "cli": "Command line"}.get(
            event.run_source or "", "File import"
        )
    return {
        "widget": "Web widget",
        "api": "REST API",
        "manager": "The app",
        "support": "Support admin",
        "expiry": "Expiry after 7 days",
        "carrier": "Carrier delivery receipt",
        "reassigned": "Reassigned-numbers database",
    }.get(event.source, event.get_source_display())


def _consent_events_qs(account: Account) -> QuerySet[OptEvent]:
    # The texts received and the runs are read through the relations messaging and imports declare on the
    # account, so that the list's core imports neither.
    inbound = account.inbound_messages.filter(message_sid=OuterRef("message_sid"))
    run = account.import_runs.filter(pk=OuterRef("import_run_id"))
    return (
        OptEvent.objects.filter(account=account)
        .select_related("user")
        .annotate(
            text_received=Subquery(inbound.values("body")[:1]),
            inbound_sender=Subquery(inbound.values("sender")[:1]),
            run_file=Subquery(run.values("file_name")[:1]),
            run_source=Subquery(run.values("source")[:1]),
        )
    )


def _consent_event(event) -> ConsentEvent:
    if event.old_status != event.new_status:
        change = f"{_status_label(event.old_status)} → {_status_label(event.new_status, event.opted_out_by)}"
    else:
        change = f"Tags only ({_status_label(event.new_status, event.opted_out_by)})"
    return ConsentEvent(
        at=event.created_at,
        phone=event.phone,
        old_status=event.old_status,
        new_status=event.new_status,
        opted_out_by=event.opted_out_by,
        change=change,
        source=event.source,
        source_label=event.get_source_display(),
        who=_event_who(event),
        channel=_event_channel(event),
        channel_code=event.channel,
        received_on=event.received_on,
        import_run_id=event.import_run_id,
        file_name=event.run_file or "",
        page_url=event.page_url,
        client_ip=event.client_ip or "",
        text_received=event.text_received or "",
        message_sid=event.message_sid,
        tags_added=tuple(event.tags_added or ()),
        tags_removed=tuple(event.tags_removed or ()),
        note=event.note,
    )


def _consent_texts_qs(account: Account):
    return account.outbound_messages.select_related("alert")


def _consent_text(message) -> ConsentText:
    return ConsentText(
        at=message.created_at,
        phone=message.phone,
        kind=message.kind,
        kind_label=message.get_kind_display(),
        body=message.text,
        status=message.status,
        status_label=message.get_status_display(),
        error=message.error,
        sender=message.sender,
    )


def consent_record(*, account: Account, phone: str) -> ConsentRecord:
    """Every opt event of one number of the account and every text sent to it, oldest first. `phone` is E.164;
    a deleted number's record is still there (its events and texts are kept by phone)."""
    events = _consent_events_qs(account).filter(phone=phone).order_by("created_at", "id")
    texts = _consent_texts_qs(account).filter(phone=phone).order_by("created_at", "id")
    return ConsentRecord(phone, [_consent_event(e) for e in events], [_consent_text(m) for m in texts])


def consent_latest(*, account: Account, phone: str, limit: int = 500) -> ConsentRecord:
    """The number's page: its latest events and texts, newest first (the CSV and printable page have all)."""
    events = _consent_events_qs(account).filter(phone=phone).order_by("-created_at", "-id")[:limit]
    texts = _consent_texts_qs(account).filter(phone=phone).order_by("-created_at", "-id")[:limit]
    return ConsentRecord(phone, [_consent_event(e) for e in events], [_consent_text(m) for m in texts])


def consent_ledger_size(*, account: Account) -> int:
    """How many rows the account's ledger has: its progress page counts against it."""
    return OptEvent.objects.filter(account=account).count() + _consent_texts_qs(account).count()


def consent_ledger(*, account: Account, chunk: int = 2000):
    """The whole account's consent ledger, number by number and, within a number, oldest first: its opt events
    and texts merged in time order. Yields ConsentEvent and ConsentText, streamed from two ordered queries."""
    import heapq

    events = (
        _consent_event(e)
        for e in _consent_events_qs(account).order_by("phone", "created_at", "id").iterator(chunk_size=chunk)
    )
    texts = (
        _consent_text(m)
        for m in _consent_texts_qs(account).order_by("phone", "created_at", "id").iterator(chunk_size=chunk)
    )
    # A text sent at the same moment as the event that caused it (the STOP's confirmation) comes after it.
    yield from heapq.merge(events, texts, key=lambda row: (row.phone, row.at, isinstance(row, ConsentText)))
