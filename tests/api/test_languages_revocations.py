"""The API's side of issue 18: a number's language, and revocations received by phone, email or letter."""

import pytest
from django.utils import timezone

from messaging.models import OutboundMessage, translated_defaults
from messaging.optin import double_opt_in_request
from subscribers.models import OptEvent, Subscriber
from subscribers.services import Cause, account_sender_add
from tests.api.conftest import assert_error
from tests.messaging.conftest import sent_to

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+12025550173"


@pytest.fixture(autouse=True)
def _memory_gateway(settings):
    from messaging import gateway

    settings.SMS_GATEWAY = "memory"
    gateway.outbox.clear()
    yield
    gateway.outbox.clear()


@pytest.fixture
def sender(account):
    return account_sender_add(account=account, phone="73303")


def test_the_read_shows_the_language_and_an_opt_in_or_a_put_sets_it(api, account):
    created = api.post(f"/subscribers/{PHONE}/opt-in", {"tags": ["District 4"], "language": "es"})
    assert created.status_code == 200, created.content
    assert created.json()["language"] == "es"
    assert api.get(f"/subscribers/{PHONE}").json()["language"] == "es"
    changed = api.put(f"/subscribers/{PHONE}/language", {"language": "fr"})
    assert changed.status_code == 200 and changed.json()["language"] == "fr"
    assert Subscriber.objects.get(account=account, phone=PHONE).language == "fr"
    assert api.post("/subscribers/+12025550174/opt-in").json()["language"] == "en"
    assert_error(api.put(f"/subscribers/{PHONE}/language", {"language": "de"}), 422, "validation_error")
    assert_error(api.put("/subscribers/+12025550199/language", {"language": "es"}), 404, "not_found")


def test_a_number_set_to_spanish_by_the_api_gets_its_request_in_spanish(api, account, sender, manager):
    api.post(f"/subscribers/{PHONE}/opt-in", {"language": "es"})
    api.post(f"/subscribers/{PHONE}/suspend")
    double_opt_in_request(account=account, phone=PHONE, cause=Cause(source="manager", user=manager))
    assert sent_to(PHONE) == [translated_defaults(account.name, "es")["request_text"]]


def test_the_api_records_a_revocation_received_by_phone_as_the_owners_opt_out(api, account, sender, other_api):
    api.post(f"/subscribers/{PHONE}/opt-in")
    today = timezone.localdate(timezone.now(), account.tzinfo).isoformat()
    response = api.post(
        f"/subscribers/{PHONE}/revocations", {"channel": "phone", "received_on": today, "note": "Service desk"}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["opted_out_by"], body["outcome"]) == ("opted_out", "subscriber", "opted_out")
    event = OptEvent.objects.get(account=account, phone=PHONE, new_status="opted_out")
    assert (event.source, event.channel, event.received_on.isoformat(), event.note) == (
        "api", "phone", today, "Service desk",
    )  # fmt: skip
    assert OutboundMessage.objects.filter(phone=PHONE, kind="opt_out").count() == 1
    # The owner's opt-out: the API cannot opt it back in.
    assert_error(api.post(f"/subscribers/{PHONE}/opt-in"), 409, "opted_out")
    # Another account's key records nothing on this account.
    other_api.post(f"/subscribers/{PHONE}/revocations", {"channel": "email", "received_on": today})
    assert OptEvent.objects.filter(account=account, phone=PHONE).count() == 2


def test_a_revocation_needs_a_channel_and_a_day_not_in_the_future(api, account):
    assert_error(api.post(f"/subscribers/{PHONE}/revocations", {"channel": "pigeon", "received_on": "2026-12-01"}),
                 422, "validation_error")  # fmt: skip
    assert_error(api.post(f"/subscribers/{PHONE}/revocations", {"channel": "email", "received_on": 0}),
                 422, "validation_error")  # fmt: skip
    assert_error(api.post(f"/subscribers/{PHONE}/revocations", {"channel": "email", "received_on": "2999-01-01"}),
                 422, "received_on", "received_on")  # fmt: skip
    assert not Subscriber.objects.filter(account=account, phone=PHONE).exists()
