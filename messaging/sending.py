"""Texts out through the gateway, each logged, most of them after the status change has committed."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from messaging.gateway import SendResult, get_gateway
from messaging.models import DeliveryStatus, OutboundMessage
from subscribers.models import Account, SenderNumber
from subscribers.services import ServiceError

logger = logging.getLogger("messaging")


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


def send_after_commit(*, account: Account, phone: str, kind: str, body: str, sender: str = "") -> None:
    transaction.on_commit(lambda: text_send(account=account, phone=phone, kind=kind, body=body, sender=sender))


def log_then_send_after_commit(*, account: Account, phone: str, kind: str, body: str, sender: str = "") -> None:
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
