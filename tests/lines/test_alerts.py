"""What the carriers say, applied to an alert: landlines (by the account's setting) and unreachable numbers are
kept from it, each logged as blocked with its reason."""

import pytest

from lines import services as line_services
from lines.models import LineType, NumberLine
from messaging import alerts, gateway
from messaging.models import DeliveryStatus, OutboundMessage
from subscribers.services import account_sender_add
from subscribers.transitions import State
from tests.conftest import run_worker

pytestmark = pytest.mark.django_db(transaction=True)

BODY = "Lakeside Electric: outage on Feeder A2, power back by 6 pm."


@pytest.fixture
def numbers(account, make_subscriber, settings):
    settings.SMS_GATEWAY = "memory"
    gateway.outbox.clear()
    account_sender_add(account=account, phone="73303")
    for phone in ("+12025550101", "+12025550102", "+12025550110", "+12025550120", "+12025550109"):
        make_subscriber(account, phone, State.OPTED_IN)
    make_subscriber(account, "+12025550130", State.SUSPENDED)
    NumberLine.objects.create(account=account, phone="+12025550110", line_type=LineType.LANDLINE)
    NumberLine.objects.create(account=account, phone="+12025550109", line_type=LineType.VOIP)
    NumberLine.objects.create(
        account=account, phone="+12025550102", line_type=LineType.MOBILE, unreachable_since="2026-11-01T00:00Z"
    )
    yield
    gateway.outbox.clear()


def _send(account, manager):
    alert = alerts.alert_create(account=account, body=BODY, target="everyone", tags=[], user=manager)
    run_worker("default")
    alert.refresh_from_db()
    return alert


def test_landlines_and_unreachable_numbers_are_blocked_with_their_reason(account, manager, numbers, rq_queues):
    preview = alerts.alert_preview(account=account, body=BODY, target="everyone", tags=[])
    assert (preview.reach, preview.blocked) == (3, 3)
    alert = _send(account, manager)
    assert sorted(m.to for m in gateway.outbox) == ["+12025550101", "+12025550109", "+12025550120"]
    # The landline and the unreachable number; the suspended one was not the alert's to send (issue 23, item 4).
    assert (alert.total, alert.sent_count, alert.blocked_count) == (3, 3, 2)
    log = {m.phone: (m.status, m.error) for m in OutboundMessage.objects.filter(alert=alert)}
    assert log["+12025550110"][0] == DeliveryStatus.BLOCKED
    assert log["+12025550110"][1].startswith("Landline:")
    assert log["+12025550102"][0] == DeliveryStatus.BLOCKED
    assert log["+12025550102"][1].startswith("Unreachable:")
    assert log["+12025550130"] == (DeliveryStatus.BLOCKED, "Not opted in: suspended")


def test_an_account_that_only_flags_landlines_still_texts_them(account, manager, numbers, rq_queues):
    line_services.line_settings_update(account=account, landline_policy="flag")
    preview = alerts.alert_preview(account=account, body=BODY, target="everyone", tags=[])
    assert (preview.reach, preview.blocked) == (4, 2)
    _send(account, manager)
    assert "+12025550110" in {m.to for m in gateway.outbox}
    assert "+12025550102" not in {m.to for m in gateway.outbox}  # unreachable is always blocked
