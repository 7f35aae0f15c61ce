"""Delivery receipts change the list: the carrier's opt-out block (21610), "not a mobile" (21614, 30006), and
ALERT_UNREACHABLE_AFTER permanent failures in a row (30003, 30005) until a delivery or a manager clears it."""

import pytest
from django.urls import reverse

from lines.models import LineEvent, LineEventKind, LineType, NumberLine
from messaging.models import OptInRequest, OutboundMessage
from subscribers.models import OptEvent, Source, Status, Subscriber
from subscribers.transitions import State
from tests.messaging.conftest import sign

PHONE = "+12025550144"
URL = "http://testserver/sms/status/"
_sids = iter(range(1, 10**6))


@pytest.fixture
def texted(account, make_subscriber, settings):
    """An opted-in number that the account has texted: what a status callback refers to."""
    settings.TWILIO_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
    settings.SMS_PUBLIC_URL = ""
    settings.SMS_VERIFY_SIGNATURES = True
    return make_subscriber(account, PHONE, State.OPTED_IN)


def _text(account, phone=PHONE) -> str:
    sid = f"SM{next(_sids):032d}"
    OutboundMessage.objects.create(account=account, kind="alert", phone=phone, status="sent", provider_id=sid)
    return sid


def receipt(client, sid, status, code=""):
    params = {"MessageSid": sid, "MessageStatus": status, "ErrorCode": code, "AccountSid": "AC1"}
    response = client.post("/sms/status/", params, HTTP_X_TWILIO_SIGNATURE=sign(URL, params))
    assert response.status_code == 204


def test_the_carriers_opt_out_block_opts_the_number_out_by_its_owner(client, account, texted):
    OptInRequest.objects.create(account=account, phone=PHONE, source="api", expires_at="2099-01-01T00:00Z")
    sid = _text(account)
    receipt(client, sid, "undelivered", "21610")
    texted.refresh_from_db()
    assert (texted.status, texted.opted_out_by) == (Status.OPTED_OUT, "subscriber")
    event = OptEvent.objects.get(account=account, phone=PHONE, new_status=Status.OPTED_OUT)
    assert (event.source, event.message_sid, event.old_status) == (Source.CARRIER, sid, Status.OPTED_IN)
    assert "21610" in event.note
    assert LineEvent.objects.get(phone=PHONE).kind == LineEventKind.CARRIER_OPT_OUT
    assert OptInRequest.objects.get(phone=PHONE).state == OptInRequest.State.CANCELLED
    # The same receipt again changes nothing more.
    receipt(client, sid, "undelivered", "21610")
    assert OptEvent.objects.filter(account=account, phone=PHONE).count() == 1


@pytest.mark.parametrize("code", ["21614", "30006"])
def test_not_a_mobile_makes_the_line_a_landline(client, account, texted, code):
    NumberLine.objects.create(account=account, phone=PHONE, line_type=LineType.MOBILE)
    sid = _text(account)
    receipt(client, sid, "failed", code)
    line = NumberLine.objects.get(account=account, phone=PHONE)
    assert (line.line_type, line.checked_by) == (LineType.LANDLINE, "delivery receipt")
    event = LineEvent.objects.get(phone=PHONE)
    assert (event.kind, event.message_sid, event.error_code) == (LineEventKind.LANDLINE, sid, code)
    texted.refresh_from_db()
    assert texted.status == Status.OPTED_IN  # only flagged: the status is the owner's and the utility's


def test_consecutive_permanent_failures_flag_the_number_unreachable(client, account, texted, settings):
    settings.ALERT_UNREACHABLE_AFTER = 3
    first = _text(account)
    receipt(client, first, "undelivered", "30003")
    receipt(client, first, "undelivered", "30003")  # a repeated callback counts once
    receipt(client, _text(account), "undelivered", "30005")
    line = NumberLine.objects.get(account=account, phone=PHONE)
    assert (line.failures, line.unreachable) == (2, False)
    third = _text(account)
    receipt(client, third, "undelivered", "30003")
    line.refresh_from_db()
    assert (line.failures, line.unreachable) == (3, True)
    event = LineEvent.objects.get(phone=PHONE, kind=LineEventKind.UNREACHABLE)
    assert (event.message_sid, event.error_code) == (third, "30003")


def test_another_failure_neither_counts_nor_resets(client, account, texted, settings):
    settings.ALERT_UNREACHABLE_AFTER = 2
    receipt(client, _text(account), "undelivered", "30003")
    receipt(client, _text(account), "undelivered", "30007")  # carrier filtering: says nothing of the line
    receipt(client, _text(account), "undelivered", "30005")
    assert NumberLine.objects.get(account=account, phone=PHONE).unreachable


def test_a_delivery_lifts_the_flag_and_starts_the_count_again(client, account, texted, settings):
    settings.ALERT_UNREACHABLE_AFTER = 2
    receipt(client, _text(account), "undelivered", "30003")
    receipt(client, _text(account), "undelivered", "30003")
    assert NumberLine.objects.get(account=account, phone=PHONE).unreachable
    receipt(client, _text(account), "delivered")
    line = NumberLine.objects.get(account=account, phone=PHONE)
    assert (line.failures, line.unreachable) == (0, False)
    assert LineEvent.objects.filter(phone=PHONE, kind=LineEventKind.REACHABLE).count() == 1


def test_a_manager_clears_the_unreachable_flag(manager_client, client, account, texted, settings):
    settings.ALERT_UNREACHABLE_AFTER = 1
    receipt(client, _text(account), "undelivered", "30003")
    assert NumberLine.objects.get(account=account, phone=PHONE).unreachable
    page = manager_client.get(reverse("subscribers:detail", args=[texted.pk]))
    assert b"Unreachable" in page.content
    response = manager_client.post(reverse("lines:clear_unreachable", args=[texted.pk]))
    assert response.status_code == 302
    line = NumberLine.objects.get(account=account, phone=PHONE)
    assert (line.unreachable, line.failures) == (False, 0)
    event = LineEvent.objects.get(phone=PHONE, kind=LineEventKind.CLEARED)
    assert event.user.username == "manager"


def test_receipts_only_touch_the_account_that_sent_the_text(client, account, other_account, texted, make_subscriber):
    theirs = make_subscriber(other_account, PHONE, State.OPTED_IN)
    receipt(client, _text(account), "undelivered", "21610")
    theirs.refresh_from_db()
    assert theirs.status == Status.OPTED_IN
    assert Subscriber.objects.get(account=account, phone=PHONE).status == Status.OPTED_OUT
    assert not NumberLine.objects.filter(account=other_account).exists()
