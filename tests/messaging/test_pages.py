"""The managers' texts page and the double opt-in button."""

import pytest
from django.urls import reverse

from messaging.account_settings import messaging_settings_get
from messaging.models import CARRIER_WORDS, MessagingSettings, OptInRequest
from subscribers.models import Status, Subscriber
from subscribers.transitions import State
from tests.messaging.conftest import sent_to


def _form(config, **changes):
    data = {
        "welcome_text": config.welcome_text, "opt_out_text": config.opt_out_text, "help_text": config.help_text,
        "request_text": config.request_text, "confirmation_text": config.confirmation_text,
        "opt_in_keywords": "", "webhook_url": "", "widget_origins": "",
    }  # fmt: skip
    data.update(changes)
    return data


@pytest.mark.django_db
def test_the_default_texts_carry_the_carrier_required_words(account):
    config = messaging_settings_get(account=account)
    for text in (config.welcome_text, config.help_text, config.request_text, config.confirmation_text):
        assert CARRIER_WORDS in text
        assert account.name in text
    assert "YES" in config.request_text
    assert "unsubscribed" in config.opt_out_text


@pytest.mark.django_db
def test_a_manager_edits_texts_keywords_webhook_and_widget_sites(manager_client, account):
    config = messaging_settings_get(account=account)
    page = manager_client.get(reverse("messaging:texts"))
    assert page.status_code == 200
    assert f"/widget/{config.widget_key}/".encode() in page.content
    response = manager_client.post(
        reverse("messaging:texts"),
        _form(config, help_text="Lakeside help: call 555. " + CARRIER_WORDS, opt_in_keywords="outage, Alerts",
              webhook_url="https://cis.lakeside.example/sms", widget_origins="https://www.lakeside-coop.example/\n"),
    )  # fmt: skip
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.help_text.startswith("Lakeside help")
    assert config.opt_in_keywords == ["OUTAGE", "ALERTS"]
    assert config.webhook_url == "https://cis.lakeside.example/sms"
    assert config.widget_origins == ["https://www.lakeside-coop.example"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("request_text", "Lakeside: want alerts?", b"must ask the phone to reply YES"),
     ("opt_in_keywords", "STOP", b"reserved keyword"),
     ("opt_in_keywords", "two words", b"not one word"),
     ("widget_origins", "https://example.com/page", b"not an origin"),
     ("welcome_text", "", b"This field is required")],
)  # fmt: skip
def test_bad_settings_get_a_clear_message_and_nothing_is_saved(manager_client, account, field, value, message):
    config = messaging_settings_get(account=account)
    before = config.request_text
    response = manager_client.post(reverse("messaging:texts"), _form(config, **{field: value}))
    assert response.status_code == 200
    assert message in response.content
    config.refresh_from_db()
    assert config.request_text == before and config.opt_in_keywords == []


@pytest.mark.django_db
def test_texts_of_one_account_are_not_anothers(manager_client, account, other_account):
    mine = messaging_settings_get(account=account)
    theirs = messaging_settings_get(account=other_account)
    assert mine.widget_key != theirs.widget_key
    manager_client.post(reverse("messaging:texts"), _form(mine, help_text="Ours. " + CARRIER_WORDS))
    theirs.refresh_from_db()
    assert not theirs.help_text.startswith("Ours")
    assert MessagingSettings.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_manager_sends_a_double_opt_in_request_from_the_page(manager_client, account, sender, make_subscriber):
    make_subscriber(account, "+12025550173", State.OUT_SUBSCRIBER)
    response = manager_client.post(
        reverse("messaging:double_opt_in"), {"phone": "202 555 0173", "next": "/messages/texts/"}, follow=True
    )
    assert b"A double opt-in request was texted to +12025550173" in response.content
    assert OptInRequest.objects.get().source == "manager"
    assert sent_to("+12025550173") == [messaging_settings_get(account=account).request_text]
    assert Subscriber.objects.get().status == Status.OPTED_OUT  # until its owner replies YES


@pytest.mark.django_db
def test_the_double_opt_in_button_explains_a_refusal(manager_client, account, sender, make_subscriber):
    make_subscriber(account, "+12025550173", State.OPTED_IN)
    response = manager_client.post(reverse("messaging:double_opt_in"), {"phone": "+12025550173"}, follow=True)
    assert b"already opted in" in response.content
    assert not OptInRequest.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_console_gateway_logs_texts_and_managers_see_them_under_sent_texts(
    manager_client, account, sender, settings, caplog
):
    from messaging import gateway

    settings.SMS_GATEWAY = "console"
    with caplog.at_level("INFO", logger="messaging.gateway"):
        from messaging.optin import double_opt_in_request
        from subscribers.models import Source
        from subscribers.services import Cause

        double_opt_in_request(account=account, phone="+12025550173", cause=Cause(Source.API))
    # Logs show only the last four digits of a number (issue 20), the console gateway's included.
    assert "SMS from 73303 to …0173" in caplog.text and "+12025550173" not in caplog.text
    assert gateway.outbox == []
    page = manager_client.get(reverse("messaging:outbox"))
    assert b"Texts are not really sent" in page.content
    assert b"+12025550173" in page.content and b"reply YES" in page.content
