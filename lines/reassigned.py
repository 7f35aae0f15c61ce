"""Reassigned numbers: a monthly check of every opted-in number against the date its consent was given.

The checker is pluggable (REASSIGNED_NUMBERS_CHECKER): the FCC's Reassigned Numbers Database answers, for a
number and a date, whether the number was disconnected (and so possibly given to someone else) since then, was
not, or that it has no data. `simulated` answers here for the demo and the tests. A number reassigned since its
owner's consent is opted out by the utility with the reason *reassigned*: its new owner never consented, so
only they can opt in.
"""

import logging
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.module_loading import import_string

from alertmanager.jobqueue import connection, enqueue
from lines.models import JobStage, LineEvent, LineEventKind, ReassignedCheckRun
from subscribers import services as status_service
from subscribers.models import Account, OptEvent, Source, Status, Subscriber
from subscribers.services import Cause
from subscribers.transitions import Action

log = logging.getLogger(__name__)

QUEUE = "lookups"
BACKENDS = {"simulated": "lines.reassigned.SimulatedReassignedChecker"}


class Verdict(StrEnum):
    REASSIGNED = "reassigned"
    NOT_REASSIGNED = "not_reassigned"
    NO_DATA = "no_data"


class ReassignedChecker:
    """The interface: for each (number, date of consent), has the number been reassigned since that date?"""

    name = "checker"

    def check(self, numbers: list[tuple[str, date]]) -> dict[str, Verdict]:  # pragma: no cover - the interface
        raise NotImplementedError


class SimulatedReassignedChecker(ReassignedChecker):
    """A number ending in 13 was reassigned after any date, one ending in 17 has no data, the rest were not."""

    name = "simulated"

    def check(self, numbers: list[tuple[str, date]]) -> dict[str, Verdict]:
        verdicts = {}
        for phone, _since in numbers:
            if phone.endswith("13"):
                verdicts[phone] = Verdict.REASSIGNED
            elif phone.endswith("17"):
                verdicts[phone] = Verdict.NO_DATA
            else:
                verdicts[phone] = Verdict.NOT_REASSIGNED
        return verdicts


@cache
def _checker_for(name: str) -> ReassignedChecker:
    try:
        return import_string(BACKENDS.get(name, name))()
    except ImportError as exc:
        raise ImproperlyConfigured(f"REASSIGNED_NUMBERS_CHECKER must be simulated or a class path: {exc}")


def get_checker() -> ReassignedChecker | None:
    """None when no checker is configured: the check is off."""
    name = settings.REASSIGNED_NUMBERS_CHECKER
    return _checker_for(name) if name else None


def reassigned_check_start(*, account: Account) -> ReassignedCheckRun:
    check = ReassignedCheckRun.objects.create(account=account, checker=settings.REASSIGNED_NUMBERS_CHECKER)
    _enqueue(check.pk)
    return check


def _enqueue(check_id: int) -> None:
    enqueue(QUEUE, "lines.jobs.reassigned_check_job", check_id)


def reassigned_checks_start_all() -> int:
    """The monthly run: a check of every account (none while no checker is configured)."""
    if get_checker() is None:
        return 0
    started = 0
    for account in Account.objects.all():
        reassigned_check_start(account=account)
        started += 1
    return started


def _consent_dates(account: Account, numbers: list[tuple[str, datetime]]) -> dict[str, date]:
    """When each number's owner last gave consent: the latest change that opted it in from anything but a
    suspension (a reactivation is the utility's, not a new consent); its first appearance if no event says."""
    phones = [phone for phone, _ in numbers]
    given = dict(
        OptEvent.objects.filter(account=account, phone__in=phones, new_status=Status.OPTED_IN)
        .exclude(old_status__in=[Status.OPTED_IN, Status.SUSPENDED])
        .values_list("phone")
        .annotate(at=Max("created_at"))
        .values_list("phone", "at")
    )
    tz = account.tzinfo
    return {phone: timezone.localtime(given.get(phone) or first_seen, tz).date() for phone, first_seen in numbers}


def reassigned_check(*, check_id: int) -> str:
    check = ReassignedCheckRun.objects.select_related("account").filter(pk=check_id).first()
    if check is None or check.stage != JobStage.QUEUED:
        return "nothing to do"
    checker = get_checker()
    if checker is None:
        ReassignedCheckRun.objects.filter(pk=check.pk).update(
            stage=JobStage.FAILED, error="No reassigned-numbers checker is configured.", finished_at=timezone.now()
        )
        return "no checker"
    ReassignedCheckRun.objects.filter(pk=check.pk).update(stage=JobStage.RUNNING)
    account = check.account
    cursor = 0
    checked = reassigned = no_data = 0
    while True:
        batch = list(
            Subscriber.objects.listed()
            .filter(account=account, status=Status.OPTED_IN, id__gt=cursor)
            .order_by("id")
            .values_list("id", "phone", "first_seen")[: settings.REASSIGNED_BATCH_SIZE]
        )
        if not batch:
            break
        cursor = batch[-1][0]
        since = _consent_dates(account, [(phone, first_seen) for _, phone, first_seen in batch])
        verdicts = checker.check(list(since.items()))
        for phone, verdict in verdicts.items():
            if phone not in since:
                continue  # a checker answering about a number it was not asked about
            if verdict == Verdict.REASSIGNED and _opt_out_reassigned(account, phone, since[phone], checker.name):
                reassigned += 1
            elif verdict == Verdict.NO_DATA:
                no_data += 1
        checked += len(batch)
        ReassignedCheckRun.objects.filter(pk=check.pk).update(checked=checked, reassigned=reassigned, no_data=no_data)
    ReassignedCheckRun.objects.filter(pk=check.pk).update(stage=JobStage.DONE, finished_at=timezone.now())
    return f"{checked} checked, {reassigned} reassigned"


@transaction.atomic
def _opt_out_reassigned(account: Account, phone: str, since: date, checker: str) -> bool:
    note = f"Reassigned since consent on {since.isoformat()}: the new owner never consented"
    result = status_service.subscriber_apply(
        account=account,
        phone=phone,
        action=Action.OPT_OUT,
        cause=Cause(source=Source.REASSIGNED, note=note),
    )
    if not result.changed:
        return False  # opted out meanwhile
    LineEvent.objects.create(
        account=account, phone=phone, kind=LineEventKind.REASSIGNED, note=f"{note} ({checker} check)"
    )
    return True


def next_month_start(now: datetime | None = None) -> datetime:
    now = now or timezone.now()
    first = (now.date().replace(day=1) + timedelta(days=32)).replace(day=1)
    return datetime.combine(first, time(hour=6), tzinfo=UTC)


def schedule_next_month() -> None:
    when = next_month_start()
    redis = connection(QUEUE)
    key = f"am:reassigned:scheduled:{when.date().isoformat()}"
    # Once per month, however many workers start: the first one to set the key schedules it.
    if redis.set(key, "1", nx=True, ex=int((when - timezone.now()).total_seconds()) + 86400):
        enqueue(QUEUE, "lines.jobs.reassigned_monthly_job", at=when)
