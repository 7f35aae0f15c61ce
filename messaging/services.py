"""Business rules of texts: keywords from the handset, double opt-in, alerts and their delivery log.

Every change of a number's status is asked of subscribers.services; this module decides what a
text means, records it, and sends the one reply it calls for. Replies go out after the status
change has committed, so a provider outage never undoes a STOP.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
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
from rq import Retry, get_current_job

from alertmanager import jobqueue
from alertmanager.jobqueue import enqueue
from audit.models import Kind
from audit.services import audit_record
from messaging import keywords
from messaging.gateway import SendResult, get_gateway
from messaging.models import (
    Alert,
    DeliveryStatus,
    InboundMessage,
    MessageKind,
    MessagingSettings,
    OptInRequest,
    OutboundMessage,
    WebhookEvent,
    default_texts,
)
from messaging.phrases import DEFAULT_LANGUAGE, INBOX_BUSINESS_DAYS
from messaging.sms import segments_of
from subscribers import services as status_service
from subscribers.models import Account, SenderNumber, Source, Status, Subscriber, SubscriberTag, Tag
from subscribers.services import Cause, InvalidPhone, ServiceError, TransitionRefused

logger = logging.getLogger("messaging")

REQUEST_LIFETIME = timedelta(days=7)
REPEAT_WINDOW = timedelta(hours=12)
MAX_ALERT_LENGTH = 1600


class WidgetLimited(ServiceError):
    pass


# Settings and texts


def messaging_settings_get(*, account: Account) -> MessagingSettings:
    found = MessagingSettings.objects.filter(account=account).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return MessagingSettings.objects.create(account=account, **default_texts(account.name))
    except IntegrityError:  # created meanwhile by another request
        return MessagingSettings.objects.get(account=account)


@transaction.atomic
def messaging_settings_update(*, account: Account, user=None, **fields) -> MessagingSettings:
    current = messaging_settings_get(account=account)
    current = MessagingSettings.objects.select_for_update().get(pk=current.pk)
    changed = [name for name, value in fields.items() if getattr(current, name) != value]
    for name, value in fields.items():
        setattr(current, name, value)
    current.updated_at = timezone.now()
    current.save()
    if changed:
        # Names only: the texts are on the page, and a secret has no place in the log.
        labels = [str(MessagingSettings._meta.get_field(name).verbose_name) for name in changed]
        audit_record(
            kind=Kind.SETTINGS,
            action="texts",
            summary="Text settings changed: " + ", ".join(labels),
            account=account,
            actor=user,
            details={"fields": changed},
        )
    return current


def messaging_webhook_secret_rotate(*, account: Account, user=None) -> MessagingSettings:
    from messaging.models import _new_secret

    return messaging_settings_update(account=account, user=user, webhook_secret=_new_secret())


def sender_of(account: Account) -> str:
    sender = SenderNumber.objects.filter(account=account).order_by("created_at", "id").first()
    if sender is None:
        raise ServiceError("no_sender", "This account has no sender number to text from yet. Ask support to add one.")
    return sender.number


def status_callback_url() -> str:
    base = settings.SMS_PUBLIC_URL.rstrip("/")
    return f"{base}/sms/status/" if base else ""


def text_send(*, account: Account, phone: str, kind: str, body: str, sender: str = "") -> OutboundMessage:
    """Send one text now through the gateway and log it. Call it outside a transaction."""
    sender = sender or sender_of(account)
    message = OutboundMessage.objects.create(account=account, kind=kind, phone=phone, sender=sender, body=body)
    result = _send_one(sender=sender, to=phone, body=body)
    message.status = result.status
    message.provider_id = result.provider_id
    message.error = result.error
    message.updated_at = timezone.now()
    message.save(update_fields=["status", "provider_id", "error", "updated_at"])
    return message


def _send_one(*, sender: str, to: str, body: str) -> SendResult:
    try:
        return get_gateway().send(sender=sender, to=to, body=body, status_callback=status_callback_url())
    except Exception as exc:  # the provider's failure is the log's business, not the caller's
        logger.exception("sending to %s failed", to)
        return SendResult("", DeliveryStatus.FAILED, str(exc)[:300])


def _send_after_commit(*, account: Account, phone: str, kind: str, body: str, sender: str = "") -> None:
    transaction.on_commit(lambda: text_send(account=account, phone=phone, kind=kind, body=body, sender=sender))


def _log_then_send_after_commit(*, account: Account, phone: str, kind: str, body: str, sender: str = "") -> None:
    """Log the text in this transaction and send it once it commits.

    The opt-out confirmation goes this way: the log row is written while the number's row is locked, so a
    second STOP arriving at the same moment sees it and gets no second confirmation.
    """
    sender = sender or sender_of(account)
    message = OutboundMessage.objects.create(account=account, kind=kind, phone=phone, sender=sender, body=body)
    transaction.on_commit(lambda: _deliver(message))


def _deliver(message: OutboundMessage) -> None:
    result = _send_one(sender=message.sender, to=message.phone, body=message.body)
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=result.status, provider_id=result.provider_id, error=result.error, updated_at=timezone.now()
    )


CONFIRMATION_WINDOW = timedelta(hours=24)


def _opt_out_confirmed_lately(account: Account, phone: str) -> bool:
    since = timezone.now() - CONFIRMATION_WINDOW
    return OutboundMessage.objects.filter(
        account=account, phone=phone, kind=MessageKind.OPT_OUT, created_at__gte=since
    ).exists()


def _confirm_opt_out(account, config, phone, language, sender="") -> bool:
    """The one confirmation a revocation may get (FCC: one text, at once), never twice within 24 hours."""
    if _opt_out_confirmed_lately(account, phone):
        return False
    _log_then_send_after_commit(
        account=account, phone=phone, kind=MessageKind.OPT_OUT, body=config.text("opt_out_text", language),
        sender=sender,
    )  # fmt: skip
    return True


def business_days_between(start, end) -> int:
    """Business days from `start` to `end` (negative when `end` has passed)."""
    if end is None:
        return 0
    sign, (a, b) = (1, (start, end)) if end >= start else (-1, (end, start))
    days = 0
    while a < b:
        a += timedelta(days=1)
        if a.weekday() < 5:
            days += 1
    return sign * days


def business_days_after(day, count: int):
    """The day `count` business days (Monday to Friday; public holidays are not known) after `day`."""
    while count:
        day += timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


# Inbound texts


@dataclass
class Inbound:
    message: InboundMessage | None
    meaning: str
    duplicate: bool = False


def inbound_receive(*, to: str, phone: str, body: str, message_sid: str) -> Inbound:
    """Apply one inbound text once: route it by the number it was sent to, act on its keyword, reply.

    Raises ServiceError("unknown_sender") when the number it was sent to is not one of ours.
    """
    sender = SenderNumber.objects.select_related("account").filter(number=_sender_key(to)).first()
    if sender is None:
        raise ServiceError("unknown_sender", f"{to} is not a sender number of any account.")
    account = sender.account
    config = messaging_settings_get(account=account)
    try:
        e164 = status_service.phone_normalise(phone)
    except InvalidPhone:
        e164 = None
    reading = keywords.read(body, config.opt_in_keywords) if e164 else keywords.Reading(keywords.Meaning.OTHER)
    meaning = reading.meaning
    with transaction.atomic():
        try:
            with transaction.atomic():
                message = InboundMessage.objects.create(
                    account=account, message_sid=message_sid, phone=e164 or phone[:32], sender=sender.number,
                    body=body, meaning=meaning,
                )  # fmt: skip
        except IntegrityError:
            return Inbound(InboundMessage.objects.filter(message_sid=message_sid).first(), meaning, duplicate=True)
        meaning = _act_on(account, config, sender.number, e164, reading, message)
        if meaning != message.meaning:
            message.meaning = meaning
        if meaning == keywords.Meaning.UNCLEAR:
            # A person decides; the law's clock (10 business days) runs from the day it came in.
            message.respond_by = business_days_after(
                timezone.localdate(message.received_at, account.tzinfo), INBOX_BUSINESS_DAYS
            )
        if meaning in (keywords.Meaning.OTHER, keywords.Meaning.UNCLEAR) and config.webhook_url:
            message.forward = InboundMessage.Forward.PENDING
            _enqueue_forward(message)
        message.save(update_fields=["meaning", "forward", "respond_by"])
    from alertmanager import metrics

    metrics.INBOUND_KEYWORDS.labels(kind=str(meaning)).inc()
    return Inbound(message, meaning)


def _sender_key(to: str) -> str:
    raw = (to or "").strip()
    if raw.isdigit() and len(raw) in (5, 6):
        return raw
    try:
        return status_service.phone_normalise(raw)
    except InvalidPhone:
        return raw


def _number_language(account, phone, fallback: str = "") -> str:
    found = Subscriber.objects.filter(account=account, phone=phone).values_list("language", flat=True).first()
    return found or fallback or DEFAULT_LANGUAGE


def _act_on(account, config, sender, phone, reading: keywords.Reading, message: InboundMessage) -> str:
    """Do what the text asks, through the status service, and send its one reply after commit."""
    meaning, message_sid = reading.meaning, message.message_sid

    def reply(kind, name, language):
        _send_after_commit(account=account, phone=phone, kind=kind, body=config.text(name, language), sender=sender)

    if meaning == keywords.Meaning.STOP:
        result = status_service.subscriber_keyword_stop(
            account=account, phone=phone, message_sid=message_sid, language=reading.language
        )
        _close_requests(account, phone, OptInRequest.State.CANCELLED)
        language = result.subscriber.language
        _confirm_opt_out(account, config, phone, language, sender)
        consent_event_post(
            account=account, kind=WebhookEvent.Kind.OPT_OUT, phone=phone, status=result.new.status,
            text=message.body, language=language, message_sid=message_sid,
        )  # fmt: skip
    elif meaning == keywords.Meaning.START:
        result = status_service.subscriber_keyword_start(
            account=account, phone=phone, message_sid=message_sid, language=reading.language
        )
        _close_requests(account, phone, OptInRequest.State.CANCELLED)
        reply(MessageKind.WELCOME, "welcome_text", result.subscriber.language)
        consent_event_post(
            account=account, kind=WebhookEvent.Kind.OPT_IN, phone=phone, status=result.new.status,
            text=message.body, language=result.subscriber.language, message_sid=message_sid,
        )  # fmt: skip
    elif meaning == keywords.Meaning.CONFIRM:
        request = _open_request(account, phone)
        if request is None:
            return keywords.Meaning.OTHER
        try:
            result = status_service.subscriber_confirm(account=account, phone=phone, message_sid=message_sid)
        except TransitionRefused:
            return keywords.Meaning.OTHER
        request.state = OptInRequest.State.CONFIRMED
        request.closed_at = timezone.now()
        request.save(update_fields=["state", "closed_at"])
        reply(MessageKind.CONFIRMATION, "confirmation_text", result.subscriber.language)
        consent_event_post(
            account=account, kind=WebhookEvent.Kind.CONFIRMED, phone=phone, status=result.new.status,
            text=message.body, language=result.subscriber.language, message_sid=message_sid,
        )  # fmt: skip
    elif meaning == keywords.Meaning.HELP:
        # Answered in the number's language; a number the account does not have, in the keyword's.
        reply(MessageKind.HELP, "help_text", _number_language(account, phone, reading.language))
    return meaning


def _open_request(account, phone) -> OptInRequest | None:
    return (
        OptInRequest.objects.select_for_update()
        .filter(account=account, phone=phone, state=OptInRequest.State.OPEN, expires_at__gt=timezone.now())
        .order_by("-created_at")
        .first()
    )


def _close_requests(account, phone, state) -> None:
    OptInRequest.objects.filter(account=account, phone=phone, state=OptInRequest.State.OPEN).update(
        state=state, closed_at=timezone.now()
    )


def _forward_retry() -> Retry | None:
    intervals = list(settings.MESSAGING_FORWARD_RETRY_INTERVALS)
    return Retry(max=len(intervals), interval=intervals) if intervals else None


def _enqueue_forward(message: InboundMessage) -> None:
    from messaging import jobs

    enqueue("default", jobs.inbound_forward_job, message.pk, retry=_forward_retry())


def _post_signed(config: MessagingSettings, payload: bytes) -> str:
    """POST a JSON payload to the account's webhook, signed with its secret. Returns "" or what went wrong."""
    request = urllib.request.Request(
        config.webhook_url,
        data=payload,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "AlertManager-webhook/1",
            "X-AlertManager-Signature": "sha256=" + webhook_signature(config.webhook_secret, payload),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.MESSAGING_WEBHOOK_TIMEOUT) as response:
            if not 200 <= response.status < 300:
                return f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return str(getattr(exc, "reason", exc))[:300] or "connection failed"
    return ""


def consent_event_post(
    *, account: Account, kind: str, phone: str, status: str, text: str = "", language: str = "", **extra
) -> WebhookEvent | None:
    """Tell the account's system of a consent change: a signed JSON event, sent after commit, with retries.

    Nothing is recorded when the account has no webhook URL.
    """
    config = messaging_settings_get(account=account)
    if not config.webhook_url:
        return None
    now = timezone.now()
    payload = {
        "type": "consent",
        "event": kind,
        "account": account.slug,
        "phone": phone,
        "at": now.isoformat(),
        "text": text,
        "status": status,
        "language": language,
        **{key: value for key, value in extra.items() if value not in (None, "")},
    }
    event = WebhookEvent.objects.create(account=account, kind=kind, phone=phone, payload=payload, created_at=now)
    _enqueue_event(event.pk)
    return event


def _enqueue_event(event_id: int) -> None:
    from messaging import jobs

    enqueue("default", jobs.consent_event_post_job, event_id, retry=_forward_retry())


def consent_event_deliver(*, event_id: int) -> None:
    """POST one consent event; raises on failure so that the job is retried, like a forwarded text."""
    event = WebhookEvent.objects.select_related("account").get(pk=event_id)
    config = messaging_settings_get(account=event.account)
    if not config.webhook_url or event.state == InboundMessage.Forward.DELIVERED:
        return
    _post_and_record(
        config,
        json.dumps(event.payload).encode(),
        WebhookEvent.objects.filter(pk=event.pk),
        ("state", "attempts", "error"),
        f"posting consent event {event.pk}",
    )


def inbound_forward(*, inbound_id: int) -> None:
    """POST one inbound text to its account's webhook, signed with the account's secret.

    Raises on failure so that the job is retried; the last failed attempt marks it failed.
    """
    message = InboundMessage.objects.select_related("account").get(pk=inbound_id)
    config = messaging_settings_get(account=message.account)
    if not config.webhook_url or message.forward == InboundMessage.Forward.DELIVERED:
        return
    payload = json.dumps(
        {
            "account": message.account.slug,
            "message_sid": message.message_sid,
            "from": message.phone,
            "to": message.sender,
            "body": message.body,
            "received_at": message.received_at.isoformat(),
        }
    ).encode()
    _post_and_record(
        config,
        payload,
        InboundMessage.objects.filter(pk=message.pk),
        ("forward", "forward_attempts", "forward_error"),
        f"forwarding text {message.message_sid}",
    )


def _post_and_record(config: MessagingSettings, payload: bytes, row, fields: tuple[str, str, str], what: str) -> None:
    """POST `payload` to the account's webhook and record the outcome on `row` (its state, attempts and error
    fields): delivered; or, on failure, pending while the job has retries left and failed after the last, then
    raise so that RQ retries it."""
    state, attempts, error_field = fields
    error = _post_signed(config, payload)
    counted = {attempts: F(attempts) + 1, error_field: error}
    if not error:
        row.update(**{state: InboundMessage.Forward.DELIVERED}, **counted)
        return
    job = get_current_job()
    last = job is None or not job.retries_left
    row.update(**{state: InboundMessage.Forward.FAILED if last else InboundMessage.Forward.PENDING}, **counted)
    raise ForwardFailed(f"{what} to {config.webhook_url} failed: {error}")


class ForwardFailed(Exception):
    pass


def webhook_signature(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def delivery_status_update(*, provider_id: str, provider_status: str, error: str = "") -> int:
    """A provider's delivery report. Returns how many log rows it updated (0 for an unknown id)."""
    status = {
        "delivered": DeliveryStatus.DELIVERED,
        "undelivered": DeliveryStatus.FAILED,
        "failed": DeliveryStatus.FAILED,
        "sent": DeliveryStatus.SENT,
    }.get((provider_status or "").lower())
    if not provider_id or status is None:
        return 0
    updated = (
        OutboundMessage.objects.filter(provider_id=provider_id)
        .exclude(status=DeliveryStatus.DELIVERED)
        .update(status=status, error=error[:300], updated_at=timezone.now())
    )
    if status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        _receipt_to_list(provider_id, delivered=status == DeliveryStatus.DELIVERED, error=error)
    return updated


def _receipt_to_list(provider_id: str, *, delivered: bool, error: str) -> None:
    """What the receipt tells about the number (lines.services): the carrier's opt-out, not a mobile, unreachable."""
    from lines.services import line_receipt_apply

    message = OutboundMessage.objects.select_related("account").filter(provider_id=provider_id).first()
    if message is None:
        return
    with transaction.atomic():
        effect = line_receipt_apply(
            account=message.account, phone=message.phone, message_sid=provider_id, delivered=delivered, error_code=error
        )
        if effect.opted_out:
            _close_requests(message.account, message.phone, OptInRequest.State.CANCELLED)


# Double opt-in


@dataclass
class DoubleOptIn:
    """A double opt-in request just sent, and what the status service did to the number."""

    request: OptInRequest
    result: status_service.Result

    @property
    def phone(self) -> str:
        return self.request.phone


def double_opt_in_request(
    *, account: Account, phone: str, cause: Cause, tags=(), client_ip: str | None = None
) -> DoubleOptIn:
    """Make the number pending (through the status service) and send it the request text.

    A suspended or opted-out number keeps its status until its owner replies YES. Raises
    TransitionRefused for a number that is already opted in, InvalidPhone for a bad number, and
    ServiceError("no_sender") when the account has no number to text from. Call it outside a
    transaction (or the text goes when that transaction commits).
    """
    sender = sender_of(account)
    config = messaging_settings_get(account=account)
    with transaction.atomic():
        result = status_service.subscriber_request_confirmation(account=account, phone=phone, cause=cause, tags=tags)
        phone = result.subscriber.phone
        _close_requests(account, phone, OptInRequest.State.REPLACED)
        now = timezone.now()
        request = OptInRequest.objects.create(
            account=account, phone=phone, source=cause.source, user=cause.user, client_ip=client_ip,
            created_at=now, expires_at=now + REQUEST_LIFETIME,
        )  # fmt: skip
        _send_after_commit(
            account=account, phone=phone, kind=MessageKind.REQUEST,
            body=config.text("request_text", result.subscriber.language), sender=sender,
        )  # fmt: skip
        transaction.on_commit(lambda: _schedule_expiry(request.expires_at))
    return DoubleOptIn(request, result)


def _schedule_expiry(when) -> None:
    from messaging import jobs

    # A minute late so the request is surely due; the job sweeps every due request, not only this one.
    enqueue("default", jobs.opt_in_requests_expire_job, at=when + timedelta(minutes=1))


def opt_in_requests_expire(*, now=None) -> int:
    """Expire every open double opt-in request older than 7 days. Returns how many expired."""
    now = now or timezone.now()
    expired = 0
    due = OptInRequest.objects.filter(state=OptInRequest.State.OPEN, expires_at__lte=now).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            request = (
                OptInRequest.objects.select_for_update().select_related("account").filter(pk=pk, state="open").first()
            )
            if request is None:
                continue
            status_service.subscriber_expire(account=request.account, phone=request.phone)
            request.state = OptInRequest.State.EXPIRED
            request.closed_at = now
            request.save(update_fields=["state", "closed_at"])
            expired += 1
    return expired


def widget_request(*, account: Account, phone: str, client_ip: str | None, page_url: str = "") -> DoubleOptIn:
    """A double opt-in request from the public widget, within its limits.

    Raises WidgetLimited (and sends nothing) past a limit, InvalidPhone or TransitionRefused otherwise.
    """
    phone = status_service.phone_normalise(phone)
    if client_ip:
        key = f"widget-ip:{client_ip}"
        cache.add(key, 0, timeout=3600)
        try:
            attempts = cache.incr(key)
        except ValueError:
            attempts = 1
        if attempts > settings.WIDGET_LIMIT_PER_IP_PER_HOUR:
            raise WidgetLimited("ip", "Too many sign-ups from your connection. Please try again in an hour.")
    hour_ago = timezone.now() - timedelta(hours=1)
    recent = OptInRequest.objects.filter(account=account, source=Source.WIDGET, created_at__gte=hour_ago).count()
    if recent >= settings.WIDGET_LIMIT_PER_ACCOUNT_PER_HOUR:
        raise WidgetLimited("account", "We are receiving many sign-ups right now. Please try again in an hour.")
    day_ago = timezone.now() - timedelta(hours=24)
    already = OptInRequest.objects.filter(account=account, phone=phone, created_at__gte=day_ago).exists()
    # The cache key is the atomic guard against two sign-ups of one number at the same moment.
    phone_key = f"widget-phone:{account.pk}:{phone}"
    if already or not cache.add(phone_key, 1, timeout=24 * 3600):
        raise WidgetLimited(
            "phone", "We already sent a text to this number today. Reply YES to that text to confirm your sign-up."
        )
    try:
        return double_opt_in_request(
            account=account,
            phone=phone,
            cause=Cause(source=Source.WIDGET, client_ip=client_ip, page_url=page_url),
            client_ip=client_ip,
        )
    except ServiceError:
        cache.delete(phone_key)  # nothing was sent, so the number's day is not used up
        raise


# Alerts


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
    from messaging import jobs

    if not_before is not None:
        # Held by quiet hours: the worker's scheduler (--with-scheduler) starts it when they end (the janitor
        # leaves it alone until then).
        enqueue(
            "default",
            jobs.alert_send_job,
            alert_id,
            at=not_before,
            committed=True,
            job_timeout=settings.ALERT_JOB_TIMEOUT,
        )
        return
    try:
        redis = _inflight_redis()
        redis.set(f"am:alert:{alert_id}:queued", "1", ex=settings.ALERT_JOB_TIMEOUT)
        enqueue("default", jobs.alert_send_job, alert_id, committed=True, job_timeout=settings.ALERT_JOB_TIMEOUT)
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


# Revocations received elsewhere, and the inbox of texts a person has to read


def revocation_record(
    *, account: Account, phone: str, cause: Cause, channel: str, received_on, note: str = "", text: str = ""
) -> status_service.Result:
    """Record an opt-out request that reached staff (phone, email, letter, in person, or a text from the inbox).

    Applied at once as the owner's opt-out, for every text of the account. The one confirmation text goes
    only when the request came in today (the rule allows it right after the request, not days later) and
    none went in the last 24 hours. Call it outside a transaction.
    """
    config = messaging_settings_get(account=account)
    with transaction.atomic():
        result = status_service.subscriber_revocation_record(
            account=account, phone=phone, cause=cause, channel=channel, received_on=received_on, note=note
        )
        phone = result.subscriber.phone
        _close_requests(account, phone, OptInRequest.State.CANCELLED)
        if (
            received_on == timezone.localdate(timezone.now(), account.tzinfo)
            and SenderNumber.objects.filter(account=account).exists()
        ):
            _confirm_opt_out(account, config, phone, result.subscriber.language)
        consent_event_post(
            account=account, kind=WebhookEvent.Kind.REVOCATION_RECORDED, phone=phone, status=result.new.status,
            text=text or note, language=result.subscriber.language, channel=channel,
            received_on=received_on.isoformat(), source=cause.source,
        )  # fmt: skip
    return result


def inbox_open(*, account: Account) -> QuerySet[InboundMessage]:
    """Texts that may be revocations, not decided yet, the most urgent first."""
    return InboundMessage.objects.filter(
        account=account, meaning=InboundMessage.Meaning.UNCLEAR, resolution=InboundMessage.Resolution.OPEN
    ).order_by("respond_by", "received_at", "id")


def inbox_resolve(*, account: Account, message_id: int, opt_out: bool, user) -> InboundMessage:
    """A person's decision on an inbox text: treat it as an opt-out (applied at once), or not."""
    with transaction.atomic():
        message = (
            InboundMessage.objects.select_for_update()
            .filter(account=account, pk=message_id, meaning=InboundMessage.Meaning.UNCLEAR)
            .first()
        )
        if message is None:
            raise ServiceError("not_found", "This text is not in the inbox.")
        if message.resolution:
            raise ServiceError("resolved", "Someone has already decided on this text.")
        message.resolution = InboundMessage.Resolution.OPTED_OUT if opt_out else InboundMessage.Resolution.NOT_OPT_OUT
        message.resolved_at = timezone.now()
        message.resolved_by = user
        message.save(update_fields=["resolution", "resolved_at", "resolved_by"])
        if opt_out:
            revocation_record(
                account=account, phone=message.phone,
                cause=Cause(source=Source.MANAGER, user=user, message_sid=message.message_sid),
                channel="sms", received_on=timezone.localdate(message.received_at, account.tzinfo),
                note="Text read as an opt-out from the inbox", text=message.body,
            )  # fmt: skip
    return message
