"""Other inbound texts are forwarded to the account's webhook, signed, by a job that retries."""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from messaging.account_settings import messaging_settings_get
from messaging.models import InboundMessage
from tests.messaging.conftest import run_jobs, text_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+12025550173"


class _Receiver(BaseHTTPRequestHandler):
    """The utility's own system: answers the queued status codes in turn, keeps what it received."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.headers, body))
        code = self.server.codes.pop(0) if self.server.codes else 200
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.received, server.codes = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def webhook(account, receiver, settings):
    settings.MESSAGING_FORWARD_RETRY_INTERVALS = [0, 0]
    config = messaging_settings_get(account=account)
    config.webhook_url = f"http://127.0.0.1:{receiver.server_port}/inbound"
    config.save()
    return config


def test_it_forwards_another_text_signed_with_the_accounts_secret(
    client, account, sender, webhook, receiver, rq_queues
):
    text_in(client, "Is the power out on Elm St?", PHONE, sid="SMelm")
    run_jobs()
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    payload = json.loads(body)
    assert payload == {**payload, "from": PHONE, "to": sender.number, "body": "Is the power out on Elm St?",
                       "message_sid": "SMelm", "account": account.slug}  # fmt: skip
    expected = hmac.new(webhook.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-AlertManager-Signature"] == f"sha256={expected}"
    message = InboundMessage.objects.get()
    assert (message.forward, message.forward_attempts) == ("delivered", 1)


def test_it_retries_a_failed_forward_until_it_is_accepted(client, account, sender, webhook, receiver, rq_queues):
    receiver.codes = [500, 503]
    text_in(client, "hello", PHONE)
    run_jobs()
    assert len(receiver.received) == 3
    message = InboundMessage.objects.get()
    assert (message.forward, message.forward_attempts, message.forward_error) == ("delivered", 3, "")


def test_it_gives_up_after_the_last_retry_and_says_why(client, account, sender, webhook, receiver, rq_queues):
    receiver.codes = [500, 500, 500]
    text_in(client, "hello", PHONE)
    run_jobs()
    assert len(receiver.received) == 3
    message = InboundMessage.objects.get()
    assert (message.forward, message.forward_attempts, message.forward_error) == ("failed", 3, "HTTP 500")


def test_keywords_are_not_forwarded_as_texts_only_their_consent_change_is_posted(
    client, account, sender, webhook, receiver, rq_queues
):
    text_in(client, "STOP", PHONE)
    text_in(client, "HELP", PHONE)
    run_jobs()
    payloads = [json.loads(body) for _, body in receiver.received]
    assert [(p["type"], p["event"], p["text"]) for p in payloads] == [("consent", "opt_out", "STOP")]
    assert InboundMessage.objects.exclude(forward="").count() == 0
