"""Revocations (issue 18): one confirmation, revoke-all, revocations received elsewhere, the inbox, a number's
language and its texts, consent events posted to the account's webhook, and quiet hours."""

import hashlib
import hmac
import json
import threading
from datetime import UTC, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import django_rq
import pytest
from django.utils import timezone

from messaging import account_settings, alerts, business_days, gateway, inbound, optin
from messaging.models import Alert, InboundMessage, OutboundMessage, WebhookEvent, translated_defaults
from subscribers.models import OptEvent, Subscriber
from subscribers.services import Cause, ServiceError, account_sender_add
from subscribers.transitions import State
from tests.conftest import verified_login
from tests.messaging.conftest import run_jobs, sent_to, text_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+12025550173"
OTHER = "+12025550174"
LONG_CODE = "+13125550100"


def _opt_out_texts(phone=PHONE):
    return list(OutboundMessage.objects.filter(phone=phone, kind="opt_out").values_list("body", flat=True))


# One confirmation, at once, and nothing else


def test_a_revocation_gets_exactly_one_confirmation_at_once_and_a_repeat_within_24_hours_none(
    client, account, sender, make_subscriber
):
    make_subscriber(account, PHONE, State.OPTED_IN)
    config = account_settings.messaging_settings_get(account=account)
    text_in(client, "stop", PHONE)
    assert sent_to(PHONE) == [config.opt_out_text]  # sent during the webhook's request: at once
    text_in(client, "STOP", PHONE)
    text_in(client, "please remove me", PHONE)
    text_in(client, "ALTO", PHONE)
    assert sent_to(PHONE) == [config.opt_out_text]
    assert len(_opt_out_texts()) == 1
    # A day later a new STOP is a new revocation and may be confirmed once more.
    OutboundMessage.objects.filter(phone=PHONE).update(created_at=timezone.now() - timedelta(hours=25))
    text_in(client, "stop", PHONE)
    assert len(sent_to(PHONE)) == 2


def test_no_other_text_reaches_a_number_after_its_revocation(
    client, account, sender, make_subscriber, manager, rq_queues
):
    make_subscriber(account, PHONE, State.OPTED_IN, tags=["District 1"])
    make_subscriber(account, OTHER, State.OPTED_IN, tags=["District 1"])
    text_in(client, "no more texts", PHONE)
    gateway.outbox.clear()
    alerts.alert_create(account=account, body="Outage on Feeder A2.", target="everyone", tags=[], user=manager)
    run_jobs()
    assert sent_to(PHONE) == []
    assert sent_to(OTHER) == ["Outage on Feeder A2."]
    with pytest.raises(ServiceError):
        alerts.alert_create(account=account, body="", target="everyone", tags=[], user=manager)


# Revoke-all


def test_a_stop_to_one_sender_number_stops_every_text_of_the_account_from_every_sender(
    client, account, sender, make_subscriber, manager, rq_queues
):
    account_sender_add(account=account, phone=LONG_CODE)
    make_subscriber(account, PHONE, State.OPTED_IN, tags=["District 1", "Billing reminders"])
    text_in(client, "STOP", PHONE, to=LONG_CODE)  # the second sender number
    subscriber = Subscriber.objects.get(account=account, phone=PHONE)
    assert (subscriber.status, subscriber.opted_out_by) == ("opted_out", "subscriber")
    assert OutboundMessage.objects.get(phone=PHONE, kind="opt_out").sender == LONG_CODE
    gateway.outbox.clear()
    for tags in (["District 1"], ["Billing reminders"]):
        alerts.alert_create(
            account=account, body=f"About {tags[0]}", target="any", tags=account.tags.filter(name__in=tags),
            user=manager,
        )  # fmt: skip
    run_jobs()
    assert sent_to(PHONE) == []  # the first sender number sends the alerts, and sends it nothing
    assert set(OutboundMessage.objects.filter(phone=PHONE, kind="alert").values_list("status", flat=True)) == {
        "blocked"
    }
    page = verified_login(client, manager).get(f"/numbers/{subscriber.pk}/")
    assert "No text of this account reaches this number" in page.content.decode()


# Revocations received elsewhere


def test_a_manager_records_a_revocation_received_by_phone_with_its_channel_and_date(
    client, account, sender, manager, make_subscriber
):
    subscriber = make_subscriber(account, PHONE, State.OPTED_IN)
    verified_login(client, manager)
    form = client.get(f"/messages/revocations/new/?phone={PHONE}")
    assert form.status_code == 200
    for label in ("Phone number", "Received by", "Received on", "Note"):
        assert f">{label}</label>" in form.content.decode()
    today = timezone.localdate(timezone.now(), account.tzinfo)
    response = client.post(
        "/messages/revocations/new/",
        {"phone": PHONE, "channel": "phone", "received_on": today.isoformat(), "note": "Called the service desk"},
    )
    assert response.status_code == 302
    subscriber.refresh_from_db()
    assert (subscriber.status, subscriber.opted_out_by) == ("opted_out", "subscriber")
    event = OptEvent.objects.get(account=account, phone=PHONE, new_status="opted_out")
    assert (event.source, event.channel, event.received_on, event.user, event.note) == (
        "manager", "phone", today, manager, "Called the service desk",
    )  # fmt: skip
    assert len(_opt_out_texts()) == 1  # received today: the one confirmation
    page = client.get(f"/numbers/{subscriber.pk}/").content.decode()
    assert 'data-channel="phone"' in page and "Request received by phone call on" in page


def test_a_revocation_received_days_ago_is_applied_without_a_late_confirmation_and_refuses_bad_input(
    client, account, sender, manager
):
    verified_login(client, manager)
    last_week = timezone.localdate() - timedelta(days=7)
    response = client.post(
        "/messages/revocations/new/", {"phone": OTHER, "channel": "letter", "received_on": last_week.isoformat()}
    )
    assert response.status_code == 302
    assert Subscriber.objects.get(account=account, phone=OTHER).opted_out_by == "subscriber"
    assert _opt_out_texts(OTHER) == []
    future = timezone.localdate() + timedelta(days=3)
    refused = client.post(
        "/messages/revocations/new/", {"phone": PHONE, "channel": "email", "received_on": future.isoformat()}
    )
    assert refused.status_code == 200
    assert "cannot be in the future" in refused.content.decode()
    bad = client.post("/messages/revocations/new/", {"phone": "12", "channel": "email", "received_on": "2026-01-02"})
    assert bad.status_code == 200 and "not a valid US or Canadian phone number" in bad.content.decode()
    assert not Subscriber.objects.filter(account=account, phone=PHONE).exists()


# The inbox


def test_an_unclear_text_waits_in_the_inbox_with_its_deadline_and_one_click_opts_it_out(
    client, account, sender, manager, make_subscriber
):
    subscriber = make_subscriber(account, PHONE, State.OPTED_IN)
    text_in(client, "how do I cancel these texts?", PHONE, sid="SMunclear")
    message = InboundMessage.objects.get(message_sid="SMunclear")
    received = timezone.localdate(message.received_at, account.tzinfo)
    assert message.meaning == "unclear"
    assert message.respond_by == business_days.business_days_after(received, 10)
    assert message.respond_by.weekday() < 5 and (message.respond_by - received).days >= 14
    subscriber.refresh_from_db()
    assert subscriber.status == "opted_in" and sent_to(PHONE) == []
    verified_login(client, manager)
    inbox = client.get("/messages/inbox/").content.decode()
    assert "how do I cancel these texts?" in inbox and f'data-respond-by="{message.respond_by.isoformat()}"' in inbox
    dashboard = client.get("/dashboard/").content.decode()
    assert 'id="inbox-notice"' in dashboard and message.respond_by.strftime("%b") in dashboard
    client.post(f"/messages/inbox/{message.pk}/resolve/", {"decision": "opt_out"})
    subscriber.refresh_from_db()
    message.refresh_from_db()
    assert (subscriber.status, subscriber.opted_out_by) == ("opted_out", "subscriber")
    assert (message.resolution, message.resolved_by) == ("opted_out", manager)
    event = OptEvent.objects.get(phone=PHONE, new_status="opted_out")
    assert (event.channel, event.message_sid, event.user) == ("sms", "SMunclear", manager)
    assert "Nothing waits for a decision." in client.get("/messages/inbox/").content.decode()
    assert 'id="inbox-notice"' not in client.get("/dashboard/").content.decode()


def test_another_accounts_inbox_text_cannot_be_decided(client, account, sender, other_manager, other_account):
    text_in(client, "how do I cancel these texts?", PHONE, sid="SMmine")
    message = InboundMessage.objects.get(message_sid="SMmine")
    verified_login(client, other_manager)
    response = client.post(f"/messages/inbox/{message.pk}/resolve/", {"decision": "opt_out"})
    assert response.status_code == 404
    assert InboundMessage.objects.get(pk=message.pk).resolution == ""
    assert not Subscriber.objects.filter(phone=PHONE, status="opted_out").exists()


# Languages


def test_the_keyword_sets_the_language_and_every_reply_goes_in_it(client, account, sender, make_subscriber):
    name = account.name
    text_in(client, "ALTO", PHONE)
    subscriber = Subscriber.objects.get(account=account, phone=PHONE)
    assert (subscriber.language, subscriber.status) == ("es", "opted_out")
    assert sent_to(PHONE) == [translated_defaults(name, "es")["opt_out_text"]]
    text_in(client, "INICIO", PHONE)
    subscriber.refresh_from_db()
    assert (subscriber.language, subscriber.status) == ("es", "opted_in")
    text_in(client, "HELP", PHONE)  # answered in the number's language, whatever the keyword's
    assert sent_to(PHONE)[1:] == [
        translated_defaults(name, "es")["welcome_text"],
        translated_defaults(name, "es")["help_text"],
    ]
    text_in(client, "ARRÊT", OTHER)
    text_in(client, "DÉBUT", OTHER)
    text_in(client, "AIDE", OTHER)
    assert Subscriber.objects.get(phone=OTHER).language == "fr"
    fr = translated_defaults(name, "fr")
    assert sent_to(OTHER) == [fr["opt_out_text"], fr["welcome_text"], fr["help_text"]]
    assert "ARRET" in fr["help_text"] and "AIDE" in fr["help_text"]
    assert "ALTO" in translated_defaults(name, "es")["help_text"]
    text_in(client, "STOP", OTHER)  # a word several languages share keeps the number's language
    assert Subscriber.objects.get(phone=OTHER).language == "fr"


def test_the_accounts_own_translation_wins_over_the_default(client, account, sender, manager):
    verified_login(client, manager)
    config = account_settings.messaging_settings_get(account=account)
    data = {name: getattr(config, name) for name in ("welcome_text", "opt_out_text", "help_text", "request_text",
                                                      "confirmation_text")}  # fmt: skip
    data.update(opt_out_text_es="Lakeside: dado de baja. Responda INICIO para volver.", quiet_start="21:00",
                quiet_end="08:00", webhook_url="", widget_origins="", opt_in_keywords="")  # fmt: skip
    response = client.post("/messages/texts/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    config.refresh_from_db()
    assert config.translations["es"] == {"opt_out_text": "Lakeside: dado de baja. Responda INICIO para volver."}
    assert (config.quiet_start, config.quiet_end) == (time(21), time(8))
    page = client.get("/messages/texts/").content.decode()
    assert "Opt-out confirmation (Spanish)</label>" in page and "Quiet hours start</label>" in page
    text_in(client, "no más", PHONE)
    assert sent_to(PHONE) == ["Lakeside: dado de baja. Responda INICIO para volver."]


def test_the_request_confirmation_and_alert_go_in_the_numbers_language(
    client, account, sender, manager, make_subscriber, rq_queues
):
    optin.double_opt_in_request(account=account, phone=PHONE, cause=Cause(source="manager", user=manager))
    verified_login(client, manager)
    subscriber = Subscriber.objects.get(phone=PHONE)
    client.post(f"/numbers/{subscriber.pk}/language/", {"language": "fr"})
    subscriber.refresh_from_db()
    assert subscriber.language == "fr"
    fr = translated_defaults(account.name, "fr")
    optin.double_opt_in_request(account=account, phone=OTHER, cause=Cause(source="manager", user=manager))
    text_in(client, "oui", PHONE)
    assert sent_to(PHONE)[-1] == fr["confirmation_text"]
    Subscriber.objects.filter(phone=OTHER).update(status="opted_in", language="es")
    make_subscriber(account, "+12025550175", State.OPTED_IN)
    gateway.outbox.clear()
    alerts.alert_create(
        account=account, body="Outage on Elm St.", body_es="Apagón en la calle Elm.", body_fr="Panne rue Elm.",
        target="everyone", tags=[], user=manager, urgent=True,
    )  # fmt: skip
    run_jobs()
    assert sent_to(PHONE) == ["Panne rue Elm."]
    assert sent_to(OTHER) == ["Apagón en la calle Elm."]
    assert sent_to("+12025550175") == ["Outage on Elm St."]
    alerts.alert_create(account=account, body="Second outage.", body_fr="Deuxième panne.", target="everyone",
                          tags=[], user=manager, urgent=True)  # fmt: skip
    run_jobs()
    assert sent_to(OTHER)[-1] == "Second outage."  # no Spanish body: the main one


# Consent events to the account's webhook


class _Receiver(BaseHTTPRequestHandler):
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


def test_each_consent_change_is_posted_signed_to_the_accounts_webhook_with_retries(
    client, account, sender, manager, receiver, settings, rq_queues
):
    settings.MESSAGING_FORWARD_RETRY_INTERVALS = [0, 0]
    config = account_settings.messaging_settings_get(account=account)
    config.webhook_url = f"http://127.0.0.1:{receiver.server_port}/consent"
    config.opt_in_keywords = ["OUTAGE"]
    config.save()
    receiver.codes = [503]  # the first post fails and is retried
    text_in(client, "Arrêt", PHONE)
    text_in(client, "START", PHONE)
    text_in(client, "outage", OTHER)
    optin.double_opt_in_request(account=account, phone="+12025550175", cause=Cause(source="manager", user=manager))
    text_in(client, "YES", "+12025550175")
    inbound.revocation_record(
        account=account, phone="+12025550176", cause=Cause(source="manager", user=manager), channel="email",
        received_on=timezone.localdate(), note="Email of Dec 7",
    )  # fmt: skip
    run_jobs()
    payloads = [json.loads(body) for _, body in receiver.received]
    for headers, body in receiver.received:
        expected = hmac.new(config.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-AlertManager-Signature"] == f"sha256={expected}"
    delivered = {(p["event"], p["phone"], p["text"], p["status"]) for p in payloads}
    assert delivered == {
        ("opt_out", PHONE, "Arrêt", "opted_out"),
        ("opt_in", PHONE, "START", "opted_in"),
        ("opt_in", OTHER, "outage", "opted_in"),
        ("confirmed", "+12025550175", "YES", "opted_in"),
        ("revocation_recorded", "+12025550176", "Email of Dec 7", "opted_out"),
    }
    assert len(payloads) == 6  # the failed first attempt was posted again
    staff = next(p for p in payloads if p["event"] == "revocation_recorded")
    assert (staff["channel"], staff["received_on"], staff["account"]) == (
        "email",
        timezone.localdate().isoformat(),
        account.slug,
    )
    assert next(p for p in payloads if p["event"] == "opt_out")["language"] == "fr"
    assert all(datetime.fromisoformat(p["at"]) for p in payloads)
    assert set(WebhookEvent.objects.values_list("state", flat=True)) == {"delivered"}


# Quiet hours


def _quiet_hours_now(account):
    """Quiet hours set around the present moment in the account's time zone."""
    config = account_settings.messaging_settings_get(account=account)
    local = timezone.localtime(timezone.now(), account.tzinfo)
    config.quiet_start = (local - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    config.quiet_end = (local + timedelta(hours=2)).time().replace(second=0, microsecond=0)
    config.save()
    return config


def test_quiet_hours_hold_a_non_urgent_alert_until_they_end_and_not_an_urgent_one(
    account, sender, manager, make_subscriber, rq_queues
):
    make_subscriber(account, PHONE, State.OPTED_IN)
    config = _quiet_hours_now(account)
    held = alerts.alert_create(account=account, body="Planned work tomorrow.", target="everyone", tags=[], user=manager)
    urgent = alerts.alert_create(account=account, body="Gas leak: stay away from Elm St.", target="everyone",
                                   tags=[], user=manager, urgent=True)  # fmt: skip
    run_jobs()
    assert sent_to(PHONE) == ["Gas leak: stay away from Elm St."]
    held.refresh_from_db()
    urgent.refresh_from_db()
    assert (urgent.stage, urgent.not_before) == ("done", None)
    assert held.stage == "queued"
    assert timezone.localtime(held.not_before, account.tzinfo).time() == config.quiet_end
    assert held.not_before > timezone.now()
    scheduled = django_rq.get_queue("default").scheduled_job_registry
    assert scheduled.count == 1
    # Quiet hours over: the scheduled job sends it.
    Alert.objects.filter(pk=held.pk).update(not_before=timezone.now() - timedelta(seconds=1))
    alerts.alert_send(alert_id=held.pk)
    assert sent_to(PHONE)[-1] == "Planned work tomorrow."


def test_quiet_hours_never_hold_replies_and_wrap_around_midnight(client, account, sender):
    config = _quiet_hours_now(account)
    text_in(client, "HELP", PHONE)
    assert sent_to(PHONE) == [config.help_text]
    config.quiet_start, config.quiet_end = time(21), time(8)
    chicago = account.tzinfo
    at_night = datetime(2026, 12, 7, 23, 30, tzinfo=chicago)
    early = datetime(2026, 12, 8, 7, 0, tzinfo=chicago)
    noon = datetime(2026, 12, 8, 12, 0, tzinfo=chicago)
    assert alerts.quiet_hours_end(config=config, now=at_night) == datetime(2026, 12, 8, 8, 0, tzinfo=chicago)
    assert alerts.quiet_hours_end(config=config, now=early.astimezone(UTC)) == datetime(
        2026, 12, 8, 8, 0, tzinfo=chicago
    )
    assert alerts.quiet_hours_end(config=config, now=noon) is None
