"""The account's webhook: consent events and forwarded inbound texts, signed, retried by the job queue."""

import hashlib
import hmac
import json
import urllib.error
import urllib.request

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from rq import Retry, get_current_job

from alertmanager.jobqueue import enqueue
from messaging.account_settings import messaging_settings_get
from messaging.models import InboundMessage, MessagingSettings, WebhookEvent
from subscribers.models import Account


def _forward_retry() -> Retry | None:
    intervals = list(settings.MESSAGING_FORWARD_RETRY_INTERVALS)
    return Retry(max=len(intervals), interval=intervals) if intervals else None


def inbound_forward_enqueue(message: InboundMessage) -> None:
    enqueue("default", "messaging.jobs.inbound_forward_job", message.pk, retry=_forward_retry())


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
    enqueue("default", "messaging.jobs.consent_event_post_job", event_id, retry=_forward_retry())


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
