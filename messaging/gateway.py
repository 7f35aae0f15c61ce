"""The SMS gateway: the one place a text leaves the app. The backend is chosen by SMS_GATEWAY.

- `console` logs what would be sent; the delivery log keeps it visible on the "Sent texts" page.
- `memory` keeps every text in `outbox` (like Django's mail.outbox), for tests and benchmarks.
- `twilio` sends through Twilio with credentials from the environment.
A dotted path to a class with the same `send` method plugs in another provider.
"""

import itertools
import logging
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger("messaging.gateway")


@dataclass(frozen=True)
class SendResult:
    provider_id: str
    status: str  # one of DeliveryStatus: sent, delivered, failed
    error: str = ""


@dataclass(frozen=True)
class Sent:
    sender: str
    to: str
    body: str
    provider_id: str
    sent_at: object = field(default_factory=timezone.now)


class Gateway:
    def send(self, *, sender: str, to: str, body: str, status_callback: str = "") -> SendResult:
        raise NotImplementedError

    def lookup(self, *, sender: str, to: str, body: str, since) -> SendResult | None:
        """Whether a text caught in flight (its worker died during the hand-over) reached the provider: its result,
        SendResult("", "queued") when the provider has no trace of it, or None when the provider cannot tell."""
        return None


_ids = itertools.count(1)

# What the memory gateway "sent", oldest first. Tests clear it; nothing else reads it.
outbox: list[Sent] = []
# Callables run before each text is "sent": a test uses one to have a phone reply mid-send.
on_send: list = []


class MemoryGateway(Gateway):
    def send(self, *, sender: str, to: str, body: str, status_callback: str = "") -> SendResult:
        for hook in list(on_send):
            hook(sender=sender, to=to, body=body)
        provider_id = f"MM{next(_ids):032d}"
        outbox.append(Sent(sender, to, body, provider_id))
        return SendResult(provider_id, "sent")

    def lookup(self, *, sender: str, to: str, body: str, since) -> SendResult | None:
        for sent in reversed(outbox):
            if (sent.sender, sent.to, sent.body) == (sender, to, body) and sent.sent_at >= since:
                return SendResult(sent.provider_id, "sent")
        return SendResult("", "queued")


class ConsoleGateway(Gateway):
    def send(self, *, sender: str, to: str, body: str, status_callback: str = "") -> SendResult:
        provider_id = f"CO{next(_ids):032d}"
        logger.info("SMS from %s to %s: %s", sender, to, body)
        return SendResult(provider_id, "sent")


class TwilioGateway(Gateway):
    """Twilio's Messages API. Needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN."""

    def __init__(self):
        from twilio.rest import Client

        if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
            raise ImproperlyConfigured("SMS_GATEWAY=twilio needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        self.client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN)

    def send(self, *, sender: str, to: str, body: str, status_callback: str = "") -> SendResult:
        from twilio.base.exceptions import TwilioException, TwilioRestException

        kwargs = {"to": to, "from_": sender, "body": body}
        if status_callback:
            kwargs["status_callback"] = status_callback
        try:
            message = self.client.messages.create(**kwargs)
        except TwilioRestException as exc:
            return SendResult("", "failed", f"{exc.code}: {exc.msg}"[:300])
        except TwilioException as exc:
            return SendResult("", "failed", str(exc)[:300])
        status = "failed" if message.status in ("failed", "undelivered") else "sent"
        return SendResult(message.sid, status, message.error_message or "")

    def lookup(self, *, sender: str, to: str, body: str, since) -> SendResult | None:
        """Twilio lists the messages to a number since a date: one with this body and sender is the text."""
        from twilio.base.exceptions import TwilioException

        try:
            messages = self.client.messages.list(to=to, from_=sender, date_sent_after=since, limit=20)
        except TwilioException:
            return None
        for message in messages:
            if message.body == body:
                status = "failed" if message.status in ("failed", "undelivered") else "sent"
                return SendResult(message.sid, status, message.error_message or "")
        # Messages still queued at Twilio may carry no date_sent yet: not finding it is not proof it never went.
        return None


BACKENDS = {"console": ConsoleGateway, "memory": MemoryGateway, "twilio": TwilioGateway}


@cache
def _gateway_for(name: str) -> Gateway:
    cls = BACKENDS.get(name)
    if cls is None:
        try:
            cls = import_string(name)
        except ImportError as exc:
            raise ImproperlyConfigured(f"SMS_GATEWAY must be console, memory, twilio or a class path: {exc}")
    return cls()


def get_gateway() -> Gateway:
    return _gateway_for(settings.SMS_GATEWAY)
