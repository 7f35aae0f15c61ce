"""Line-type lookups off the import's path: a pass over the account's numbers that need one, run by jobs on the
`lookups` queue, a batch per job.

- Which numbers: the account's listed numbers, not opted out, never checked or checked longer ago than
  LINE_TYPE_MAX_AGE_DAYS. That check is the cache: a number already looked up (even if it was deleted and added
  again) is not asked, nor paid for, twice within that time, and one number on two rows is asked once.
- Rate: the provider's lookups per second, shared by every worker through Redis; concurrency: that many
  requests in flight at once within a batch.
- Retries: a number the provider could not answer now is asked again after LINE_TYPE_LOOKUP_BACKOFF seconds,
  doubling, up to LINE_TYPE_LOOKUP_RETRIES times (or after the Retry-After it gave); then it is left for the next
  pass, counted as failed.
- One pass per account at a time: a pass queued while another runs waits its turn, then finds the numbers the
  first one checked already fresh.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone

from alertmanager.jobqueue import connection, enqueue
from lines.models import JobStage, LookupRun, LookupUsage, NumberLine
from lines.providers import LineAnswer, LookupRefused, LookupUnavailable, get_provider
from subscribers.models import Account, Status, Subscriber

log = logging.getLogger(__name__)

QUEUE = "lookups"
ACTIVE = (JobStage.QUEUED, JobStage.RUNNING)


def _fresh_since():
    return timezone.now() - timedelta(days=settings.LINE_TYPE_MAX_AGE_DAYS)


def numbers_needing_lookup(*, account: Account) -> QuerySet[Subscriber]:
    fresh = NumberLine.objects.filter(
        account_id=OuterRef("account_id"), phone=OuterRef("phone"), checked_at__gte=_fresh_since()
    )
    return Subscriber.objects.listed().filter(account=account).exclude(status=Status.OPTED_OUT).filter(~Exists(fresh))


def lookup_run_start(*, account: Account, import_run=None) -> LookupRun:
    """Queue a pass of lookups for the account (after its transaction commits). Never raises for a provider's
    trouble: that is the pass's business, not its caller's (an import must never fail because of a lookup)."""
    fail_stalled(account=account)
    run = LookupRun.objects.create(account=account, import_run=import_run, provider=settings.LINE_TYPE_LOOKUP)
    _enqueue(run.pk)
    return run


_STALLED = "Stopped: the worker running it stopped. The numbers it had not reached are looked up by the next pass."


def fail_stalled(*, account: Account) -> int:
    """Fail the account's passes that nobody has worked on for a while (their worker died mid-batch), so the
    pages do not show them as under way forever."""
    stalled_since = timezone.now() - timedelta(seconds=settings.LINE_TYPE_LOOKUP_LOCK_SECONDS)
    return LookupRun.objects.filter(account=account, stage=JobStage.RUNNING, updated_at__lt=stalled_since).update(
        stage=JobStage.FAILED, error=_STALLED, finished_at=timezone.now()
    )


def lookup_run_after_import(*, import_run) -> LookupRun | None:
    """Called once an import has landed (committed): look up what it brought. A preview changes nothing, so it
    looks up nothing."""
    if import_run.dry_run:
        return None
    try:
        return lookup_run_start(account=import_run.account, import_run=import_run)
    except Exception:  # Redis down, say: the import has landed all the same; the next pass catches up
        log.exception("could not queue the line-type lookups after import %s", import_run.pk)
        return None


def _enqueue(run_id: int, delay: float = 0) -> None:
    enqueue(QUEUE, "lines.jobs.lookup_batch_job", run_id, after=timedelta(seconds=delay) if delay else None)


def _account_lock(account_id: int):
    return connection(QUEUE).lock(
        f"am:lookups:account:{account_id}", timeout=settings.LINE_TYPE_LOOKUP_LOCK_SECONDS, blocking=False
    )


def lookup_batch(*, run_id: int) -> str:
    """Look up one batch of the pass, then queue the next batch (or finish). Returns what it did, for the log."""
    run = LookupRun.objects.select_related("account").filter(pk=run_id).first()
    if run is None or run.stage not in ACTIVE:
        return "nothing to do"
    lock = _account_lock(run.account_id)
    if not lock.acquire():
        # Another pass of this account is at work: try again shortly rather than pay twice for its numbers.
        _enqueue(run.pk, delay=settings.LINE_TYPE_LOOKUP_WAIT_SECONDS)
        return "waiting for the account's other pass"
    try:
        return _batch(run)
    finally:
        try:
            lock.release()
        except Exception:  # expired meanwhile: nothing to release
            pass


def _batch(run: LookupRun) -> str:
    if run.stage == JobStage.QUEUED:
        total = numbers_needing_lookup(account=run.account).count()
        now = timezone.now()
        LookupRun.objects.filter(pk=run.pk).update(stage=JobStage.RUNNING, started_at=now, updated_at=now, total=total)
        run.refresh_from_db()
    numbers = list(
        numbers_needing_lookup(account=run.account)
        .filter(id__gt=run.cursor)
        .order_by("id")
        .values_list("id", "phone")[: settings.LINE_TYPE_LOOKUP_BATCH_SIZE]
    )
    if not numbers:
        _finish(run, JobStage.DONE)
        return "done"
    provider = get_provider()
    phones = list(dict.fromkeys(phone for _, phone in numbers))
    try:
        answers = _look_up_with_retries(provider, phones)
    except LookupRefused as exc:
        _finish(run, JobStage.FAILED, str(exc))
        return "refused"
    _store(run, answers, getattr(provider, "name", run.provider))
    asked = len(answers) if getattr(provider, "paid", True) else 0
    if asked:
        _count_usage(run.account, run.provider, asked)
    LookupRun.objects.filter(pk=run.pk).update(
        cursor=numbers[-1][0],
        done=F("done") + len(answers),
        looked_up=F("looked_up") + len(answers),
        failed=F("failed") + len(phones) - len(answers),
        updated_at=timezone.now(),
    )
    _enqueue(run.pk)
    return f"{len(answers)} looked up, {len(phones) - len(answers)} failed"


def _finish(run: LookupRun, stage: str, error: str = "") -> None:
    LookupRun.objects.filter(pk=run.pk).update(stage=stage, error=error[:1000], finished_at=timezone.now())


class _RateLimiter:
    """Lookups per second shared by every worker: each request reserves the next free slot in Redis (the
    moment after the last one reserved, one interval apart) and waits for it."""

    _SCRIPT = """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
    local slot = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
    local interval = tonumber(ARGV[1])
    redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', math.ceil(interval * 1000) + 60000)
    return tostring(slot - now)
    """

    def __init__(self, provider_key: str, rate: float):
        self.rate = rate
        self.key = f"am:lookups:rate:{provider_key}"
        self.script = connection(QUEUE).register_script(self._SCRIPT) if rate > 0 else None

    def wait(self) -> None:
        if self.script is None:
            return
        delay = float(self.script(keys=[self.key], args=[1.0 / self.rate]))
        if delay > 0:
            time.sleep(delay)


def _setting_or(name: str, default):
    value = getattr(settings, name)
    return value if value else default


def _look_up_with_retries(provider, phones: list[str]) -> dict[str, LineAnswer]:
    """Answers for as many of `phones` as the provider gave within the retries; LookupRefused stops at once."""
    rate = _setting_or("LINE_TYPE_LOOKUP_RATE", getattr(provider, "rate", 0))
    concurrency = max(1, int(_setting_or("LINE_TYPE_LOOKUP_CONCURRENCY", getattr(provider, "concurrency", 1))))
    limiter = _RateLimiter(getattr(provider, "name", settings.LINE_TYPE_LOOKUP), rate)
    answers: dict[str, LineAnswer] = {}
    todo = phones
    backoff = 0.0
    for attempt in range(settings.LINE_TYPE_LOOKUP_RETRIES + 1):
        time.sleep(backoff)
        round_ = _Round(provider, limiter)
        if concurrency == 1:
            for phone in todo:
                round_.ask(phone)
        else:
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                for future in [pool.submit(round_.ask, phone) for phone in todo]:
                    future.result()  # LookupRefused and the unexpected are raised here
        answers.update(round_.answers)
        if not round_.unavailable:
            break
        todo = [phone for phone in todo if phone in round_.unavailable]
        hinted = max((exc.retry_after or 0) for exc in round_.unavailable.values())
        backoff = max(settings.LINE_TYPE_LOOKUP_BACKOFF * 2**attempt, hinted)
        log.warning("%s of %s lookups unavailable; asking again in %.1f s", len(todo), len(phones), backoff)
    return answers


class _Round:
    """One ask of each number still to do; the pool's threads write their answers here."""

    def __init__(self, provider, limiter: _RateLimiter):
        self.provider = provider
        self.limiter = limiter
        self.answers: dict[str, LineAnswer] = {}
        self.unavailable: dict[str, LookupUnavailable] = {}
        self.lock = threading.Lock()

    def ask(self, phone: str) -> None:
        self.limiter.wait()
        try:
            answer = self.provider.look_up(phone)
        except LookupUnavailable as exc:
            with self.lock:
                self.unavailable[phone] = exc
            return
        with self.lock:
            self.answers[phone] = answer


def _store(run: LookupRun, answers: dict[str, LineAnswer], checked_by: str) -> None:
    if not answers:
        return
    now = timezone.now()
    rows = [
        NumberLine(
            account_id=run.account_id, phone=phone, line_type=answer.line_type, carrier=answer.carrier[:120],
            checked_at=now, checked_by=checked_by,
        )
        for phone, answer in answers.items()
    ]  # fmt: skip
    NumberLine.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["account", "phone"],
        update_fields=["line_type", "carrier", "checked_at", "checked_by"],
    )


def _count_usage(account: Account, provider: str, lookups: int) -> None:
    month = timezone.localtime(timezone.now(), account.tzinfo).date().replace(day=1)
    with transaction.atomic():
        usage, _ = LookupUsage.objects.select_for_update().get_or_create(
            account=account, month=month, provider=provider
        )
        LookupUsage.objects.filter(pk=usage.pk).update(lookups=F("lookups") + lookups)


def lookup_run_for_import(*, import_run) -> LookupRun | None:
    return LookupRun.objects.filter(import_run=import_run).order_by("-created_at").first()


def lookups_pending(*, account: Account) -> int:
    return numbers_needing_lookup(account=account).count()
