import pytest
from django.core.cache import cache
from twilio.request_validator import RequestValidator

from messaging import gateway
from subscribers.services import account_sender_add
from tests.conftest import run_worker

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
SHORT_CODE = "73303"
OTHER_SHORT_CODE = "73304"
INBOUND_URL = "http://testserver/sms/inbound/"


@pytest.fixture(autouse=True)
def sms_settings(settings):
    """The memory gateway (the outside world faked) and a known provider token for signatures."""
    settings.SMS_GATEWAY = "memory"
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.SMS_PUBLIC_URL = ""
    settings.SMS_VERIFY_SIGNATURES = True
    settings.ALERT_RECHECK_SECONDS = 3600.0
    gateway.outbox.clear()
    gateway.on_send.clear()
    cache.clear()
    yield settings
    gateway.outbox.clear()
    gateway.on_send.clear()


@pytest.fixture
def sender(account):
    return account_sender_add(account=account, phone=SHORT_CODE)


@pytest.fixture
def other_sender(other_account):
    return account_sender_add(account=other_account, phone=OTHER_SHORT_CODE)


def sign(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    """What Twilio puts in X-Twilio-Signature, computed by Twilio's own library."""
    return RequestValidator(token).compute_signature(url, params)


_sids = iter(range(1, 10**9))


def text_in(client, body: str, phone: str, to: str = SHORT_CODE, sid: str | None = None, signature: str | None = None):
    """The provider posting one inbound text to the webhook, signed as it would be."""
    params = {"From": phone, "To": to, "Body": body, "MessageSid": sid or f"SM{next(_sids):032d}", "AccountSid": "AC1"}
    headers = {}
    signature = sign(INBOUND_URL, params) if signature is None else signature
    if signature:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    return client.post("/sms/inbound/", params, **headers)


def sent_to(phone: str) -> list[str]:
    return [message.body for message in gateway.outbox if message.to == phone]


def run_jobs(*queues: str) -> None:
    """A real RQ worker in burst mode, in this process so the memory gateway's outbox is the test's."""
    run_worker(*(queues or ("default",)))
