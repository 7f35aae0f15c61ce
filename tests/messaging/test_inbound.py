"""The inbound webhook: signatures, replays, routing by To, and every keyword's effect and reply."""

import pytest

from messaging.account_settings import messaging_settings_get
from messaging.models import InboundMessage, MessagingSettings, OutboundMessage
from subscribers.models import OptedOutBy, OptEvent, Source, Status, Subscriber
from subscribers.transitions import State
from tests.messaging.conftest import INBOUND_URL, OTHER_SHORT_CODE, SHORT_CODE, sent_to, sign, text_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+12025550173"


def _status(account, phone=PHONE):
    subscriber = Subscriber.objects.filter(account=account, phone=phone).first()
    return (subscriber.status, subscriber.opted_out_by) if subscriber else None


def test_it_refuses_a_text_without_a_signature_and_changes_nothing(client, account, sender):
    response = text_in(client, "STOP", PHONE, signature="")
    assert response.status_code == 403
    assert not Subscriber.objects.exists()
    assert not InboundMessage.objects.exists()
    assert sent_to(PHONE) == []


def test_it_refuses_a_wrong_signature(client, account, sender, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN)
    response = text_in(client, "STOP", PHONE, signature="bm90IHRoZSByaWdodCBzaWduYXR1cmU=")
    assert response.status_code == 403
    assert _status(account) == (Status.OPTED_IN, "")


def test_it_refuses_a_signature_made_with_another_token(client, account, sender):
    params = {"From": PHONE, "To": SHORT_CODE, "Body": "STOP", "MessageSid": "SM1"}
    response = client.post("/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=sign(INBOUND_URL, params, "another-token"))
    assert response.status_code == 403
    assert not Subscriber.objects.exists()


def test_it_refuses_a_signature_made_for_another_url(client, account, sender, settings):
    params = {"From": PHONE, "To": SHORT_CODE, "Body": "STOP", "MessageSid": "SM1"}
    signature = sign("https://alerts.example.com/sms/inbound/", params)
    response = client.post("/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
    # Behind a proxy the public URL is configured, and then that same signature is right.
    settings.SMS_PUBLIC_URL = "https://alerts.example.com"
    response = client.post("/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200
    assert _status(account) == (Status.OPTED_OUT, OptedOutBy.SUBSCRIBER)


def test_it_refuses_every_text_when_no_auth_token_is_configured(client, account, sender, settings):
    settings.TWILIO_AUTH_TOKEN = ""
    assert text_in(client, "STOP", PHONE).status_code == 403
    assert not Subscriber.objects.exists()


def test_it_skips_the_signature_check_only_when_a_setting_says_so(client, account, sender, settings):
    settings.SMS_VERIFY_SIGNATURES = False
    assert text_in(client, "STOP", PHONE, signature="").status_code == 200
    assert _status(account) == (Status.OPTED_OUT, OptedOutBy.SUBSCRIBER)


def test_a_stop_from_an_unknown_number_records_it_opted_out_by_the_subscriber(client, account, sender):
    response = text_in(client, "STOP", PHONE, sid="SMstop1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert _status(account) == (Status.OPTED_OUT, OptedOutBy.SUBSCRIBER)
    event = OptEvent.objects.get(account=account, phone=PHONE)
    assert (event.source, event.message_sid, event.new_status) == (Source.KEYWORD, "SMstop1", Status.OPTED_OUT)
    config = MessagingSettings.objects.get(account=account)
    assert sent_to(PHONE) == [config.opt_out_text]
    assert "START" in config.opt_out_text


@pytest.mark.parametrize("body", ["stop", " STOP ", "Stop.", "STOPALL", "opt out", "stop please", "Unsubscribe"])
def test_every_opt_out_variant_opts_an_opted_in_number_out_with_one_reply(
    client, account, sender, make_subscriber, body
):
    make_subscriber(account, PHONE, State.OPTED_IN, tags=["District 1"])
    text_in(client, body, PHONE)
    assert _status(account) == (Status.OPTED_OUT, OptedOutBy.SUBSCRIBER)
    assert len(sent_to(PHONE)) == 1
    assert OutboundMessage.objects.get(phone=PHONE).kind == "opt_out"


def test_a_replayed_message_sid_is_applied_once(client, account, sender, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN)
    first = text_in(client, "STOP", PHONE, sid="SMsame")
    again = text_in(client, "STOP", PHONE, sid="SMsame")
    assert first.status_code == again.status_code == 200
    assert OptEvent.objects.filter(phone=PHONE).count() == 1
    assert InboundMessage.objects.filter(message_sid="SMsame").count() == 1
    assert len(sent_to(PHONE)) == 1


def test_it_routes_a_text_to_the_account_that_owns_the_number_it_was_sent_to(
    client, account, other_account, sender, other_sender, make_subscriber
):
    make_subscriber(account, PHONE, State.OPTED_IN)
    make_subscriber(other_account, PHONE, State.OPTED_IN)
    text_in(client, "STOP", PHONE, to=OTHER_SHORT_CODE)
    assert _status(other_account) == (Status.OPTED_OUT, OptedOutBy.SUBSCRIBER)
    assert _status(account) == (Status.OPTED_IN, "")
    assert [m.sender for m in OutboundMessage.objects.all()] == [OTHER_SHORT_CODE]


def test_a_text_to_a_number_of_no_account_changes_nothing(client, account, sender):
    response = text_in(client, "STOP", PHONE, to="99999")
    assert response.status_code == 404
    assert not Subscriber.objects.exists()
    assert sent_to(PHONE) == []


def test_start_opts_a_subscriber_opt_out_back_in_and_sends_the_welcome_text(client, account, sender, make_subscriber):
    make_subscriber(account, PHONE, State.OUT_SUBSCRIBER)
    text_in(client, "Start", PHONE)
    assert _status(account) == (Status.OPTED_IN, "")
    assert sent_to(PHONE) == [messaging_settings_get(account=account).welcome_text]
    assert OptEvent.objects.get(phone=PHONE).source == Source.KEYWORD


def test_unstop_reactivates_a_suspended_number(client, account, sender, make_subscriber):
    make_subscriber(account, PHONE, State.SUSPENDED)
    text_in(client, "UNSTOP", PHONE)
    assert _status(account) == (Status.OPTED_IN, "")


def test_the_accounts_opt_in_keyword_opts_a_new_number_in(client, account, sender):
    config = messaging_settings_get(account=account)
    config.opt_in_keywords = ["OUTAGE"]
    config.save()
    text_in(client, "join outage", PHONE)
    assert _status(account) == (Status.OPTED_IN, "")
    assert sent_to(PHONE) == [config.welcome_text]


def test_help_and_info_answer_with_the_help_text_and_change_nothing(client, account, sender, make_subscriber):
    make_subscriber(account, PHONE, State.SUSPENDED)
    text_in(client, "HELP", PHONE)
    text_in(client, "info", PHONE)
    assert _status(account) == (Status.SUSPENDED, "")
    assert not OptEvent.objects.exists()
    help_text = messaging_settings_get(account=account).help_text
    assert sent_to(PHONE) == [help_text, help_text]
    assert "Msg&Data rates may apply" in help_text and "STOP" in help_text


def test_yes_without_an_open_request_is_an_ordinary_message(client, account, sender, make_subscriber):
    make_subscriber(account, PHONE, State.OUT_SUBSCRIBER)
    text_in(client, "YES", PHONE)
    assert _status(account) == (Status.OPTED_OUT, OptedOutBy.SUBSCRIBER)
    assert InboundMessage.objects.get().meaning == "other"
    assert sent_to(PHONE) == []


def test_any_other_text_is_stored_and_changes_nothing(client, account, sender, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN)
    text_in(client, "When will the power be back on Elm Street?", PHONE)
    message = InboundMessage.objects.get()
    assert (message.meaning, message.phone, message.account) == ("other", PHONE, account)
    assert message.forward == ""  # no webhook configured
    assert sent_to(PHONE) == []
    assert _status(account) == (Status.OPTED_IN, "")


def test_a_text_from_a_number_that_is_not_us_or_canada_is_stored_and_changes_nothing(client, account, sender):
    text_in(client, "STOP", "+447700900123")
    assert not Subscriber.objects.exists()
    assert InboundMessage.objects.get().meaning == "other"
