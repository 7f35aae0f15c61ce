"""Reads of lines: what blocks a number from alerts, a number's line, and the list's health."""

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from lines.models import LandlinePolicy, LineEvent, LineEventKind, LineType, LookupRun, LookupUsage, NumberLine
from subscribers.models import Account, Subscriber

# Why an opted-in number gets no alert, in the delivery log's words; the first word is the reason.
BLOCK_TEXT = {
    "unreachable": "Unreachable: its last texts could not be delivered (a manager can clear the flag)",
    "landline": "Landline: the carriers say this number cannot receive texts",
}


def _line(**conditions) -> Exists:
    return Exists(NumberLine.objects.filter(account_id=OuterRef("account_id"), phone=OuterRef("phone"), **conditions))


def alert_blocks(*, account: Account) -> list[tuple[str, Exists]]:
    """(reason, condition on a Subscriber row) for each way an opted-in number is kept from alerts, in order."""
    from lines.services import line_settings_get

    blocks = [("unreachable", _line(unreachable_since__isnull=False))]
    if line_settings_get(account=account).landline_policy == LandlinePolicy.BLOCK:
        blocks.append(("landline", _line(line_type=LineType.LANDLINE)))
    return blocks


def alert_blocked_condition(*, account: Account) -> Q:
    condition = Q(pk__in=[])
    for _, exists in alert_blocks(account=account):
        condition |= Q(exists)
    return condition


def subscribers_with_line_type(queryset: QuerySet[Subscriber], line_type: str) -> QuerySet[Subscriber]:
    """The list's filter: `unknown` also means never checked; `unreachable` is the flag, whatever the type."""
    if line_type == "unreachable":
        return queryset.filter(_line(unreachable_since__isnull=False))
    if line_type == LineType.UNKNOWN:
        known = [t for t in LineType.values if t != LineType.UNKNOWN]
        return queryset.exclude(_line(line_type__in=known))
    return queryset.filter(_line(line_type=line_type))


def number_line(*, account: Account, phone: str) -> NumberLine | None:
    return NumberLine.objects.filter(account=account, phone=phone).first()


def lines_of(*, account: Account, phones: list[str]) -> dict[str, tuple[str, bool]]:
    """phone → (line type, unreachable) for the numbers that have a line on record."""
    rows = NumberLine.objects.filter(account=account, phone__in=phones).values_list(
        "phone", "line_type", "unreachable_since"
    )
    return {phone: (line_type, since is not None) for phone, line_type, since in rows}


def line_events(*, account: Account, phone: str) -> QuerySet[LineEvent]:
    return LineEvent.objects.filter(account=account, phone=phone).select_related("user")


def list_health(*, account: Account) -> dict:
    """How many listed numbers are of each line type (never checked counts as unknown), flagged unreachable,
    and opted out as reassigned this month; and the lookups waiting and done."""
    from subscribers.selectors import month_start

    listed = Subscriber.objects.listed().filter(account=account)
    total = listed.count()
    known = dict(
        NumberLine.objects.filter(account=account)
        .filter(Exists(listed.filter(phone=OuterRef("phone"))))
        .values_list("line_type")
        .annotate(n=Count("id"))
        .values_list("line_type", "n")
    )
    counts = {t: known.get(t, 0) for t in LineType.values}
    counts[LineType.UNKNOWN] = total - sum(v for k, v in counts.items() if k != LineType.UNKNOWN)
    unreachable = listed.filter(_line(unreachable_since__isnull=False)).count()
    since = month_start(account)
    reassigned = LineEvent.objects.filter(account=account, kind=LineEventKind.REASSIGNED, created_at__gte=since).count()
    active = list(LookupRun.objects.filter(account=account, stage__in=["queued", "running"]))
    return {
        "total": total,
        "line_types": [(t, label, counts[t]) for t, label in LineType.choices],
        "unreachable": unreachable,
        "reassigned_month": reassigned,
        # The passes under way say how many they have left: counting every number that needs a lookup would
        # cost the dashboard a scan of a large list (the Line types page counts them).
        "lookups_pending": sum(run.pending for run in active),
        "lookups_running": bool(active),
        "lookups_month": sum(
            LookupUsage.objects.filter(
                account=account, month=timezone.localtime(since, account.tzinfo).date()
            ).values_list("lookups", flat=True)
        ),
    }


def reassigned_numbers(*, account: Account) -> QuerySet[LineEvent]:
    return LineEvent.objects.filter(account=account, kind=LineEventKind.REASSIGNED)


def unreachable_numbers(*, account: Account) -> QuerySet[NumberLine]:
    return NumberLine.objects.filter(account=account, unreachable_since__isnull=False).order_by("-unreachable_since")


def lookups_by_month(*, account: Account) -> list[LookupUsage]:
    return list(LookupUsage.objects.filter(account=account))
