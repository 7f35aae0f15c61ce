"""What reaches us from handsets and the provider: keywords, revocations received elsewhere, the inbox of
texts a person has to read, and delivery reports.

Every change of a number's status is asked of subscribers.services; this module decides what a
text means, records it, and sends the one reply it calls for. Replies go out after the status
change has committed, so a provider outage never undoes a STOP.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from messaging import keywords
from messaging.account_settings import messaging_settings_get
from messaging.business_days import business_days_after
from messaging.models import DeliveryStatus, InboundMessage, MessageKind, OptInRequest, OutboundMessage, WebhookEvent
from messaging.optin import opt_in_request_open, opt_in_requests_close
from messaging.phrases import DEFAULT_LANGUAGE, INBOX_BUSINESS_DAYS
from messaging.sending import log_then_send_after_commit, send_after_commit
from messaging.webhooks import consent_event_post, inbound_forward_enqueue
from subscribers import services as status_service
from subscribers.models import Account, SenderNumber, Source, Subscriber
from subscribers.services import Cause, InvalidPhone, ServiceError, TransitionRefused

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
    log_then_send_after_commit(
        account=account, phone=phone, kind=MessageKind.OPT_OUT, body=config.text("opt_out_text", language),
        sender=sender,
    )  # fmt: skip
    return True


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
            inbound_forward_enqueue(message)
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
        send_after_commit(account=account, phone=phone, kind=kind, body=config.text(name, language), sender=sender)

    if meaning == keywords.Meaning.STOP:
        result = status_service.subscriber_keyword_stop(
            account=account, phone=phone, message_sid=message_sid, language=reading.language
        )
        opt_in_requests_close(account, phone, OptInRequest.State.CANCELLED)
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
        opt_in_requests_close(account, phone, OptInRequest.State.CANCELLED)
        reply(MessageKind.WELCOME, "welcome_text", result.subscriber.language)
        consent_event_post(
            account=account, kind=WebhookEvent.Kind.OPT_IN, phone=phone, status=result.new.status,
            text=message.body, language=result.subscriber.language, message_sid=message_sid,
        )  # fmt: skip
    elif meaning == keywords.Meaning.CONFIRM:
        request = opt_in_request_open(account, phone)
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
            opt_in_requests_close(message.account, message.phone, OptInRequest.State.CANCELLED)


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
        opt_in_requests_close(account, phone, OptInRequest.State.CANCELLED)
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
