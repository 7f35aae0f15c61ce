"""Alerts: the preview, creation (repeats, quiet hours), sending in batches with in-flight marks, resuming
after a worker died, and the delivery log."""

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone

from alertmanager import jobqueue
from alertmanager.jobqueue import enqueue
from audit.models import Kind
from audit.services import audit_record
from messaging.account_settings import messaging_settings_get
from messaging.gateway import SendResult, get_gateway
from messaging.models import Alert, DeliveryStatus, MessageKind, MessagingSettings, OutboundMessage
from messaging.sending import sender_of, status_callback_url
from messaging.sms import segments_of
from subscribers.models import Account, Status, Subscriber, SubscriberTag, Tag
from subscribers.services import ServiceError

logger = logging.getLogger("messaging")

REPEAT_WINDOW = timedelta(hours=12)
MAX_ALERT_LENGTH = 1600


def alert_audience(*, account: Account, target: str, tags) -> QuerySet[Subscriber]:
    numbers = Subscriber.objects.listed().filter(account=account)
    tag_ids = [tag.pk for tag in tags]
    if target == Alert.Target.ANY:
        numbers = numbers.filter(Exists(SubscriberTag.objects.filter(subscriber=OuterRef("pk"), tag__in=tag_ids)))
    elif target == Alert.Target.ALL:
        for tag_id in tag_ids:
            numbers = numbers.filter(Exists(SubscriberTag.objects.filter(subscriber=OuterRef("pk"), tag_id=tag_id)))
    return numbers


@dataclass
class AlertPreview:
    reach: int
    blocked: int
    encoding: str
    characters: int
    segments: int
    repeat_of: Alert | None


def _reaches(account: Account) -> Q:
    """Opted in, and not kept from alerts by what the carriers say (lines: unreachable, landline)."""
    from lines.selectors import alert_blocked_condition

    return Q(status=Status.OPTED_IN) & ~alert_blocked_condition(account=account)


def alert_preview(*, account: Account, body: str, target: str, tags) -> AlertPreview:
    reaches = _reaches(account)
    counts = alert_audience(account=account, target=target, tags=tags).aggregate(
        reach=Count("pk", filter=reaches), blocked=Count("pk", filter=~reaches)
    )
    seg = segments_of(body or "")
    return AlertPreview(
        counts["reach"],
        counts["blocked"],
        seg.encoding,
        seg.units,
        seg.segments,
        _repeat_of(account, body, target, tags),
    )


def _fingerprint(body: str, target: str, tags) -> str:
    ids = sorted(tag.pk for tag in tags) if target != Alert.Target.EVERYONE else []
    key = json.dumps([" ".join((body or "").split()), target, ids])
    return hashlib.sha256(key.encode()).hexdigest()


def _repeat_of(account, body, target, tags) -> Alert | None:
    since = timezone.now() - REPEAT_WINDOW
    return (
        Alert.objects.filter(account=account, fingerprint=_fingerprint(body, target, tags), created_at__gte=since)
        .order_by("-created_at")
        .first()
    )


def quiet_hours_end(*, config: MessagingSettings, now=None):
    """When the account's quiet hours end, if `now` is inside them; None outside them or without any."""
    start, end = config.quiet_start, config.quiet_end
    if start is None or end is None or start == end:
        return None
    now = now or timezone.now()
    local = timezone.localtime(now, config.account.tzinfo)
    clock = local.time()
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=config.account.tzinfo)


def alert_create(
    *, account: Account, body: str, target: str, tags, user, repeat_confirmed: bool = False, body_es: str = "",
    body_fr: str = "", urgent: bool = False,
) -> Alert:  # fmt: skip
    """Queue an alert for sending. The same text to the same list within 12 hours needs repeat_confirmed.

    A non-urgent alert created in the account's quiet hours waits for their end; an urgent one goes at once.
    """
    body = (body or "").strip()
    body_es, body_fr = (body_es or "").strip(), (body_fr or "").strip()
    tags = list(tags)
    if not body:
        raise ServiceError("blank", "Write the message to send.", field="body")
    for name, text in (("body", body), ("body_es", body_es), ("body_fr", body_fr)):
        if len(text) > MAX_ALERT_LENGTH:
            raise ServiceError("too_long", f"A message is at most {MAX_ALERT_LENGTH} characters.", field=name)
    if target != Alert.Target.EVERYONE and not tags:
        raise ServiceError("no_tags", "Pick at least one tag, or send to the whole list.", field="tags")
    if any(tag.account_id != account.pk for tag in tags):
        raise ServiceError("foreign_tag", "Pick tags of this account.", field="tags")
    sender_of(account)
    from alertmanager.jobqueue import queue_check

    queue_check("default")
    with transaction.atomic():
        repeat = _repeat_of(account, body, target, tags)
        if repeat is not None and not repeat_confirmed:
            raise ServiceError(
                "repeat", "The same message went to the same numbers less than 12 hours ago. Confirm to send it again."
            )
        not_before = None if urgent else quiet_hours_end(config=messaging_settings_get(account=account))
        alert = Alert.objects.create(
            account=account, body=body, body_es=body_es, body_fr=body_fr, urgent=urgent, not_before=not_before,
            target=target, tag_names=[tag.name for tag in tags], fingerprint=_fingerprint(body, target, tags),
            created_by=user,
        )  # fmt: skip
        alert.tags.set(tags)
        reach = alert_audience(account=account, target=target, tags=tags).filter(status=Status.OPTED_IN).count()
        audit_record(
            kind=Kind.ALERT,
            action="sent",
            summary=f"Alert #{alert.pk} sent to {reach:,} opted-in number{'s' if reach != 1 else ''} ("
            + ("the whole list" if target == Alert.Target.EVERYONE else "tags " + ", ".join(alert.tag_names))
            + f"): “{body[:80]}{'…' if len(body) > 80 else ''}”",
            account=account,
            actor=user,
            details={"alert": alert.pk, "tags": alert.tag_names, "count": reach},
        )
        transaction.on_commit(lambda: _enqueue_alert(alert.pk, not_before))
    return alert


def _enqueue_alert(alert_id: int, not_before=None) -> None:
    if not_before is not None:
        # Held by quiet hours: the worker's scheduler (--with-scheduler) starts it when they end (the janitor
        # leaves it alone until then).
        enqueue(
            "default",
            "messaging.jobs.alert_send_job",
            alert_id,
            at=not_before,
            committed=True,
            job_timeout=settings.ALERT_JOB_TIMEOUT,
        )
        return
    try:
        redis = _inflight_redis()
        redis.set(f"am:alert:{alert_id}:queued", "1", ex=settings.ALERT_JOB_TIMEOUT)
        enqueue(
            "default", "messaging.jobs.alert_send_job", alert_id, committed=True, job_timeout=settings.ALERT_JOB_TIMEOUT
        )
    except Exception as exc:  # Redis went away after the check: the janitor queues it once Redis answers
        logger.warning("alert %s could not be queued yet (%s); the janitor will queue it", alert_id, exc)


def alert_send(*, alert_id: int) -> Alert:
    """Send an alert in batches, each number at most once, only while it is opted in.

    Run again after its worker died (alerts_resume), it first settles the texts caught in flight, then sends
    only what was never handed to the provider."""
    alert = Alert.objects.select_related("account").get(pk=alert_id)
    if alert.finished:
        return alert
    if alert.not_before is not None and alert.stage == Alert.Stage.QUEUED and timezone.now() < alert.not_before:
        return alert  # started early (a retry, a manual run): the scheduled job sends it when quiet hours end
    sender = sender_of(alert.account)
    gateway = get_gateway()
    if alert.stage == Alert.Stage.QUEUED:
        _alert_snapshot(alert, sender)
    else:
        _alert_reconcile(alert, gateway, sender)
    callback = status_callback_url()
    size = settings.ALERT_BATCH_SIZE
    while True:
        batch = list(
            OutboundMessage.objects.filter(alert=alert, status=DeliveryStatus.QUEUED)
            .order_by("id")
            .values_list("id", "phone", "body")[:size]
        )
        if not batch:
            break
        _alert_send_batch(alert, gateway, sender, callback, batch)
    Alert.objects.filter(pk=alert.pk).update(stage=Alert.Stage.DONE, finished_at=timezone.now())
    _inflight_redis().delete(_inflight_key(alert.pk))
    alert.refresh_from_db()
    return alert


def _inflight_redis():
    return jobqueue.connection("default")


def _inflight_key(alert_id: int) -> str:
    return f"am:alert:{alert_id}:inflight"


_HANDING = "-"


def _alert_reconcile(alert: Alert, gateway, sender: str) -> None:
    """Texts left `sending` by a worker that died: what the in-flight marks (or the provider) say became of them.

    No mark: never handed over, queued again. A result mark: the provider took it, recorded as it answered. A
    hand-over mark without a result: the provider is asked; when it cannot tell, `unknown` (never re-sent, never
    reported failed)."""
    marks = {int(k): v.decode() for k, v in _inflight_redis().hgetall(_inflight_key(alert.pk)).items()}
    stuck = list(
        OutboundMessage.objects.filter(alert=alert, status=DeliveryStatus.SENDING).values_list(
            "id", "phone", "updated_at"
        )
    )
    results: list[tuple[int, str, str, str]] = []
    for pk, phone, since in stuck:
        mark = marks.get(pk)
        if mark is None:
            results.append((pk, DeliveryStatus.QUEUED, "", ""))
        elif mark == _HANDING:
            found = gateway.lookup(sender=sender, to=phone, body=alert.body, since=since - timedelta(minutes=1))
            if found is None:
                results.append(
                    (
                        pk,
                        DeliveryStatus.UNKNOWN,
                        "",
                        "In flight when the worker stopped; the provider cannot say whether it was sent",
                    )
                )
            elif found.status == DeliveryStatus.QUEUED:
                results.append((pk, DeliveryStatus.QUEUED, "", ""))
            else:
                results.append((pk, found.status, found.provider_id, found.error[:300]))
        else:
            status, provider_id, error = mark.split("|", 2)
            results.append((pk, status, provider_id, error))
    with transaction.atomic():
        _record_results(results)
        _count_results(alert, [r for r in results if r[1] != DeliveryStatus.QUEUED])
    requeued = sum(1 for r in results if r[1] == DeliveryStatus.QUEUED)
    logger.warning(
        "alert %s resumed: %s texts in flight settled, %s queued again", alert.pk, len(results) - requeued, requeued
    )


def _alert_snapshot(alert: Alert, sender: str) -> None:
    """Write the delivery log in one statement: a queued row per opted-in number, a blocked row per other."""
    from lines.selectors import BLOCK_TEXT, alert_blocks

    now = timezone.now()
    opted_in = Q(status=Status.OPTED_IN)
    line_blocks = alert_blocks(account=alert.account)
    reaches = opted_in
    for _, exists in line_blocks:
        reaches &= ~Q(exists)
    numbers = (
        alert_audience(account=alert.account, target=alert.target, tags=list(alert.tags.all()))
        .order_by()
        .annotate(
            m_account=Value(alert.account_id, IntegerField()),
            m_alert=Value(alert.pk, IntegerField()),
            m_kind=Value(MessageKind.ALERT, CharField()),
            m_sender=Value(sender, CharField()),
            # A Spanish or French number gets its language's body when the alert has one; "" means the main body.
            m_body=Case(
                *[When(language=code, then=Value(text)) for code, text in (("es", alert.body_es), ("fr", alert.body_fr)) if text],
                default=Value(""), output_field=CharField(),
            ),
            m_status=Case(When(reaches, then=Value(DeliveryStatus.QUEUED)), default=Value(DeliveryStatus.BLOCKED), output_field=CharField()),
            m_provider=Value("", CharField()),
            m_error=Case(
                When(reaches, then=Value("")),
                *[When(opted_in & Q(exists), then=Value(BLOCK_TEXT[reason])) for reason, exists in line_blocks],
                When(status=Status.PENDING, then=Value(f"{NOT_OPTED_IN}: waiting for YES")),
                When(status=Status.SUSPENDED, then=Value(f"{NOT_OPTED_IN}: suspended")),
                default=Value(f"{NOT_OPTED_IN}: opted out"),
                output_field=CharField(),
            ),
            m_created=Value(now, DateTimeField()),
        )
        .values_list("m_account", "m_alert", "m_kind", "phone", "m_sender", "m_body", "m_status", "m_provider", "m_error", "m_created", "m_created")
    )  # fmt: skip
    select_sql, params = numbers.query.sql_with_params()
    table = OutboundMessage._meta.db_table
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.stage != Alert.Stage.QUEUED:
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (account_id, alert_id, kind, phone, sender, body, status, provider_id, error, "
                f"created_at, updated_at) {select_sql}",
                params,
            )
        counts = dict(
            OutboundMessage.objects.filter(alert=alert)
            .values_list("status")
            .annotate(n=Count("id"))
            .values_list("status", "n")
        )
        # Numbers of the selection that are not opted in were never the alert's to send: logged, but not counted
        # as blocked, which is for opted-in numbers kept from it (landline, unreachable, a STOP meanwhile).
        blocked = counts.get(DeliveryStatus.BLOCKED, 0) - _not_opted_in(alert).count()
        Alert.objects.filter(pk=alert.pk).update(
            stage=Alert.Stage.SENDING, started_at=now, total=counts.get(DeliveryStatus.QUEUED, 0),
            blocked_before=blocked, blocked_count=blocked,
        )  # fmt: skip


def _opted_in_now(account_id: int, phones: list[str]) -> set[str]:
    return set(
        Subscriber.objects.listed()
        .filter(account_id=account_id, phone__in=phones, status=Status.OPTED_IN)
        .values_list("phone", flat=True)
    )


def _alert_send_batch(alert: Alert, gateway, sender: str, callback: str, batch: list[tuple[int, str, str]]) -> None:
    now = timezone.now()
    allowed = _opted_in_now(alert.account_id, [phone for _, phone, _ in batch])
    with transaction.atomic():
        OutboundMessage.objects.filter(id__in=[pk for pk, _, _ in batch]).update(
            status=DeliveryStatus.SENDING, updated_at=now
        )
    marks = _inflight_redis()
    key = _inflight_key(alert.pk)
    results: list[tuple[int, str, str, str]] = []
    recheck = settings.ALERT_RECHECK_SECONDS
    checked = time.monotonic()
    for index, (pk, phone, body) in enumerate(batch):
        if time.monotonic() - checked > recheck:
            # A slow provider: look again, so a STOP that arrived meanwhile stops the rest of the batch too.
            allowed = _opted_in_now(alert.account_id, [p for _, p, _ in batch[index:]])
            checked = time.monotonic()
        if phone not in allowed:
            results.append((pk, DeliveryStatus.BLOCKED, "", "Opted out before its turn"))
            continue
        # The marks say, should this process die, which texts were handed over and what the provider answered:
        # one Redis write before and one after each hand-over, far cheaper than a row update each.
        marks.hset(key, pk, _HANDING)
        try:
            result = gateway.send(sender=sender, to=phone, body=body or alert.body, status_callback=callback)
        except Exception as exc:
            result = SendResult("", DeliveryStatus.FAILED, str(exc)[:300])
        marks.hset(key, pk, f"{result.status}|{result.provider_id}|{result.error[:300]}")
        results.append((pk, result.status, result.provider_id, result.error[:300]))
    # The statuses and the alert's counters in one commit: a worker killed in between would leave texts sent but
    # never counted (they are no longer `sending`, so resuming would not see them).
    with transaction.atomic():
        _record_results(results)
        _count_results(alert, results)
    marks.hdel(key, *[pk for pk, _, _ in batch])


def _count_results(alert: Alert, results: list[tuple[int, str, str, str]]) -> None:
    from alertmanager import metrics

    sent = sum(1 for r in results if r[1] in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED))
    failed = sum(1 for r in results if r[1] == DeliveryStatus.FAILED)
    blocked = sum(1 for r in results if r[1] == DeliveryStatus.BLOCKED)
    unknown = sum(1 for r in results if r[1] == DeliveryStatus.UNKNOWN)
    Alert.objects.filter(pk=alert.pk).update(
        sent_count=F("sent_count") + sent,
        failed_count=F("failed_count") + failed,
        blocked_count=F("blocked_count") + blocked,
        unknown_count=F("unknown_count") + unknown,
    )
    for label, count in (("sent", sent), ("failed", failed), ("refused", blocked), ("unknown", unknown)):
        if count:
            metrics.TEXTS.labels(result=label).inc(count)


def alerts_resume(*, now=None) -> int:
    """Queue again the alerts whose worker died (no lease for a lease period and more), or that Redis missed
    when they were created. Run by the janitor, so an alert resumes within a minute."""
    from alertmanager.jobqueue import lease_exists

    now = now or timezone.now()
    grace = now - timedelta(seconds=settings.IMPORT_LEASE_SECONDS * 2)
    resumed = 0
    candidates = Alert.objects.filter(
        Q(stage=Alert.Stage.SENDING, started_at__lt=grace)
        # Held by quiet hours: the scheduler starts it when they end; lost only if it has not started by then.
        | (Q(stage=Alert.Stage.QUEUED, created_at__lt=grace) & (Q(not_before__isnull=True) | Q(not_before__lt=grace)))
    ).values_list("id", flat=True)
    for alert_id in candidates:
        if lease_exists(alert_lease_key(alert_id)) or _alert_waits_in_queue(alert_id):
            continue
        Alert.objects.filter(pk=alert_id).update(resumed=F("resumed") + 1, started_at=now)
        _enqueue_alert(alert_id)
        resumed += 1
        logger.warning("alert %s lost its worker (or its job); queued again", alert_id)
    if resumed:
        from alertmanager import metrics

        metrics.ALERTS_RESUMED.inc(resumed)
    return resumed


def alert_lease_key(alert_id: int) -> str:
    return f"am:alert:{alert_id}:lease"


def _alert_waits_in_queue(alert_id: int) -> bool:
    # Set when the job is queued, dropped when it starts: a job still waiting behind others is not lost.
    return bool(_inflight_redis().exists(f"am:alert:{alert_id}:queued"))


def _record_results(results: list[tuple[int, str, str, str]]) -> None:
    if not results:
        return
    now = timezone.now()
    table = OutboundMessage._meta.db_table
    if connection.vendor == "postgresql":
        # One UPDATE … FROM (VALUES …) per batch: bulk_update's CASE grows with the batch squared.
        rows = ", ".join(["(%s::bigint, %s, %s, %s)"] * len(results))
        params = [value for row in results for value in row]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS o SET status = v.status, provider_id = v.provider_id, error = v.error, "
                f"updated_at = %s FROM (VALUES {rows}) AS v(id, status, provider_id, error) WHERE o.id = v.id",
                [now, *params],
            )
        return
    objs = [
        OutboundMessage(pk=pk, status=st, provider_id=pid, error=err, updated_at=now) for pk, st, pid, err in results
    ]
    OutboundMessage.objects.bulk_update(objs, ["status", "provider_id", "error", "updated_at"], batch_size=200)


NOT_OPTED_IN = "Not opted in"


def _not_opted_in(alert: Alert):
    return OutboundMessage.objects.filter(alert=alert, status=DeliveryStatus.BLOCKED, error__startswith=NOT_OPTED_IN)


def alert_delivery_counts(*, alert: Alert) -> dict[str, int]:
    """Per delivery status, with the selection's numbers that were not opted in apart from the blocked ones
    (key `not_opted_in`)."""
    rows = OutboundMessage.objects.filter(alert=alert).values_list("status").annotate(n=Count("id"))
    counts = {status: 0 for status in DeliveryStatus.values}
    counts.update(dict(rows.values_list("status", "n")))
    counts["not_opted_in"] = _not_opted_in(alert).count()
    counts[DeliveryStatus.BLOCKED] -= counts["not_opted_in"]
    return counts


def alert_log(*, alert: Alert, status: str = ""):
    log = OutboundMessage.objects.filter(alert=alert)
    if status == "not_opted_in":
        return log.filter(status=DeliveryStatus.BLOCKED, error__startswith=NOT_OPTED_IN)
    if status == DeliveryStatus.BLOCKED:
        return log.filter(status=status).exclude(error__startswith=NOT_OPTED_IN)
    if status in DeliveryStatus.values:
        return log.filter(status=status)
    return log


def tags_for_account(*, account: Account, ids) -> list[Tag]:
    return list(Tag.objects.filter(account=account, pk__in=list(ids)))
