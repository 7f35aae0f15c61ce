"""Alerts: who they reach, the send job with its delivery log, a STOP mid-send, and the pages."""

import django_rq
import pytest
from django.urls import reverse

from messaging import alerts, gateway
from messaging.models import Alert, DeliveryStatus, OutboundMessage
from subscribers.models import Status, Subscriber
from subscribers.services import ServiceError
from subscribers.transitions import State
from tests.messaging.conftest import run_jobs, text_in

pytestmark = pytest.mark.django_db(transaction=True)

BODY = "Lakeside Electric: outage on Feeder A2, crews on site, power back by 6 pm."


@pytest.fixture
def numbers(account, make_subscriber):
    """Ten numbers in District 1 (one of them also Medical), in every state, and one in District 2."""
    states = [State.OPTED_IN] * 6 + [State.SUSPENDED, State.OUT_SUBSCRIBER, State.OUT_CUSTOMER, State.PENDING]
    made = {}
    for i, state in enumerate(states):
        phone = f"+1202555{1000 + i}"
        tags = ["District 1", "Medical"] if i == 0 else ["District 1"]
        made[phone] = make_subscriber(account, phone, state, tags=tags)
    make_subscriber(account, "+12025552000", State.OPTED_IN, tags=["District 2"])
    return made


def _tags(account, *names):
    return list(account.tags.filter(name__in=names))


def test_the_preview_counts_who_it_reaches_and_who_is_blocked(account, sender, numbers):
    any_of = alerts.alert_preview(account=account, body=BODY, target="any", tags=_tags(account, "District 1"))
    assert (any_of.reach, any_of.blocked) == (6, 4)
    everyone = alerts.alert_preview(account=account, body=BODY, target="everyone", tags=[])
    assert (everyone.reach, everyone.blocked) == (7, 4)
    both = alerts.alert_preview(account=account, body=BODY, target="all", tags=_tags(account, "District 1", "Medical"))
    assert (both.reach, both.blocked) == (1, 0)
    either = alerts.alert_preview(
        account=account, body=BODY, target="any", tags=_tags(account, "District 2", "Medical")
    )
    assert (either.reach, either.blocked) == (2, 0)
    assert (any_of.segments, any_of.encoding) == (1, "GSM-7")


def test_an_alert_goes_only_to_opted_in_numbers_and_logs_every_number(account, sender, numbers, manager, rq_queues):
    alert = alerts.alert_create(
        account=account, body=BODY, target="any", tags=_tags(account, "District 1"), user=manager
    )
    run_jobs()
    alert.refresh_from_db()
    opted_in = {p for p, s in numbers.items() if s.status == Status.OPTED_IN}
    assert sorted(m.to for m in gateway.outbox) == sorted(opted_in)
    assert all(m.body == BODY and m.sender == sender.number for m in gateway.outbox)
    # Issue 23, item 4: the four not opted in were never the alert's to send; they are not counted as blocked.
    assert (alert.stage, alert.total, alert.sent_count, alert.blocked_count, alert.failed_count) == ("done", 6, 6, 0, 0)
    counts = alerts.alert_delivery_counts(alert=alert)
    assert (counts["not_opted_in"], counts[DeliveryStatus.BLOCKED]) == (4, 0)
    log = dict(OutboundMessage.objects.filter(alert=alert).values_list("phone", "status"))
    assert len(log) == 10
    assert {p for p, st in log.items() if st == DeliveryStatus.SENT} == opted_in
    blocked = OutboundMessage.objects.filter(alert=alert, status=DeliveryStatus.BLOCKED)
    assert sorted(blocked.values_list("error", flat=True)) == [
        "Not opted in: opted out", "Not opted in: opted out", "Not opted in: suspended", "Not opted in: waiting for YES",
    ]  # fmt: skip
    assert all(
        OutboundMessage.objects.get(alert=alert, phone=m.to).provider_id == m.provider_id for m in gateway.outbox
    )


def test_a_stop_that_arrives_mid_send_is_honoured_for_the_rest(client, account, sender, numbers, settings, rq_queues):
    settings.ALERT_BATCH_SIZE = 2
    phones = sorted(p for p, s in numbers.items() if s.status == Status.OPTED_IN)
    late = phones[-1]

    def phone_replies_stop(to, **kwargs):
        if to == phones[0]:  # while the first text goes out, the last number texts STOP
            text_in(client, "STOP", late)

    gateway.on_send.append(phone_replies_stop)
    alert = alerts.alert_create(account=account, body=BODY, target="any", tags=_tags(account, "District 1"), user=None)
    run_jobs()
    alerted = [m.to for m in gateway.outbox if m.body == BODY]
    assert late not in alerted
    assert sorted(alerted) == phones[:-1]
    row = OutboundMessage.objects.get(alert=alert, phone=late)
    assert (row.status, row.error) == (DeliveryStatus.BLOCKED, "Opted out before its turn")
    assert Subscriber.objects.get(account=account, phone=late).status == Status.OPTED_OUT


def test_an_alert_never_texts_a_number_twice_even_if_its_job_runs_again(account, sender, numbers, rq_queues):
    alert = alerts.alert_create(account=account, body=BODY, target="everyone", tags=[], user=None)
    run_jobs()
    Alert.objects.filter(pk=alert.pk).update(stage=Alert.Stage.SENDING)  # as if the worker died at the very end
    from messaging.jobs import alert_send_job

    django_rq.get_queue("default").enqueue(alert_send_job, alert.pk)
    run_jobs()
    sent = [m.to for m in gateway.outbox]
    assert len(sent) == len(set(sent)) == 7


def _interrupted(account, sender, count=4):
    """An alert whose worker died in its first batch: `count` texts left `sending`, as the killed job left them."""
    alert = alerts.alert_create(account=account, body=BODY, target="everyone", tags=[], user=None)
    alerts._alert_snapshot(alert, sender.number)
    stuck = list(OutboundMessage.objects.filter(alert=alert, status=DeliveryStatus.QUEUED).order_by("id")[:count])
    OutboundMessage.objects.filter(pk__in=[m.pk for m in stuck]).update(status=DeliveryStatus.SENDING)
    return alert, stuck


def test_texts_caught_in_flight_are_settled_by_their_marks_and_the_provider_never_sent_twice(
    account, sender, numbers, rq_queues
):
    alert, stuck = _interrupted(account, sender)
    marks = alerts._inflight_redis()
    key = alerts._inflight_key(alert.pk)
    # 0: the provider answered and the answer was marked; 1: handed over, the provider has it; 2: handed over, the
    # provider has no trace of it; 3: never handed over.
    marks.hset(key, stuck[0].pk, "sent|SMalready0|")
    marks.hset(key, stuck[1].pk, "-")
    marks.hset(key, stuck[2].pk, "-")
    gateway.outbox.append(gateway.Sent(sender.number, stuck[1].phone, BODY, "MMtakenbefore"))
    run_jobs()
    counts = {phone: [m.to for m in gateway.outbox].count(phone) for phone in (m.phone for m in stuck)}
    assert counts == {stuck[0].phone: 0, stuck[1].phone: 1, stuck[2].phone: 1, stuck[3].phone: 1}
    settled = {m.pk: (m.status, m.provider_id) for m in OutboundMessage.objects.filter(pk__in=[m.pk for m in stuck])}
    assert settled[stuck[0].pk] == (DeliveryStatus.SENT, "SMalready0")
    assert settled[stuck[1].pk] == (DeliveryStatus.SENT, "MMtakenbefore")
    alert.refresh_from_db()
    assert (alert.stage, alert.sent_count, alert.failed_count, alert.unknown_count) == ("done", 7, 0, 0)
    assert not marks.exists(key)


def test_a_text_the_provider_cannot_account_for_is_unknown_counted_apart_and_not_sent_again(
    settings, account, sender, numbers, rq_queues, manager_client
):
    settings.SMS_GATEWAY = "console"  # the console provider keeps no record it could be asked about
    alert, stuck = _interrupted(account, sender, count=1)
    alerts._inflight_redis().hset(alerts._inflight_key(alert.pk), stuck[0].pk, "-")
    run_jobs()
    stuck[0].refresh_from_db()
    assert stuck[0].status == DeliveryStatus.UNKNOWN
    alert.refresh_from_db()
    assert (alert.stage, alert.sent_count, alert.failed_count, alert.unknown_count) == ("done", 6, 0, 1)
    page = manager_client.get(reverse("messaging:alert", args=[alert.pk]))
    assert b'data-count="unknown">1<' in page.content


def test_a_provider_failure_is_logged_per_number(account, sender, numbers, rq_queues):
    broken = sorted(p for p, s in numbers.items() if s.status == Status.OPTED_IN)[0]

    def provider_refuses(to, **kwargs):
        if to == broken:
            raise ConnectionError("provider unreachable")

    gateway.on_send.append(provider_refuses)
    alert = alerts.alert_create(account=account, body=BODY, target="everyone", tags=[], user=None)
    run_jobs()
    row = OutboundMessage.objects.get(alert=alert, phone=broken)
    assert (row.status, row.error) == (DeliveryStatus.FAILED, "provider unreachable")
    alert.refresh_from_db()
    assert (alert.stage, alert.sent_count, alert.failed_count) == ("done", 6, 1)


def test_the_same_text_to_the_same_list_within_12_hours_needs_an_extra_confirmation(account, sender, numbers):
    tags = _tags(account, "District 1")
    alerts.alert_create(account=account, body=BODY, target="any", tags=tags, user=None)
    with pytest.raises(ServiceError) as repeat:
        alerts.alert_create(account=account, body=f"  {BODY} ", target="any", tags=tags, user=None)
    assert repeat.value.code == "repeat"
    alerts.alert_create(account=account, body=BODY, target="everyone", tags=[], user=None)  # another list
    alerts.alert_create(account=account, body=BODY, target="any", tags=tags, user=None, repeat_confirmed=True)
    assert Alert.objects.count() == 3


def test_a_delivery_report_updates_the_log(client, account, sender, numbers, rq_queues):
    from tests.messaging.conftest import sign

    alert = alerts.alert_create(account=account, body=BODY, target="everyone", tags=[], user=None)
    run_jobs()
    first, second = gateway.outbox[:2]
    url = "http://testserver/sms/status/"
    for sent, status in ((first, "delivered"), (second, "undelivered")):
        params = {
            "MessageSid": sent.provider_id,
            "MessageStatus": status,
            "ErrorCode": "30003" if status != "delivered" else "",
        }
        assert client.post("/sms/status/", params, HTTP_X_TWILIO_SIGNATURE=sign(url, params)).status_code == 204
    assert client.post("/sms/status/", {"MessageSid": first.provider_id, "MessageStatus": "failed"}).status_code == 403
    assert OutboundMessage.objects.get(alert=alert, phone=first.to).status == DeliveryStatus.DELIVERED
    failed = OutboundMessage.objects.get(alert=alert, phone=second.to)
    assert (failed.status, failed.error) == (DeliveryStatus.FAILED, "30003")


def test_a_manager_reviews_confirms_and_sends_an_alert_from_the_page(
    manager_client, account, sender, numbers, rq_queues
):
    tag = account.tags.get(name="District 1")
    url = reverse("messaging:alert_new")
    assert manager_client.get(url).status_code == 200
    data = {"body": BODY, "target": "any", "tags": [tag.pk]}
    review = manager_client.post(url, {**data, "step": "review"})
    assert review.status_code == 200
    assert b'data-count="reach">6<' in review.content
    assert b"Send to 6 numbers" in review.content
    assert not Alert.objects.exists()
    sent = manager_client.post(url, {**data, "step": "send"})
    alert = Alert.objects.get()
    assert sent.status_code == 302 and sent.url == reverse("messaging:alert", args=[alert.pk])
    run_jobs()
    page = manager_client.get(sent.url)
    assert b'data-count="log-sent">6<' in page.content
    again = manager_client.post(url, {**data, "step": "send"})
    assert again.status_code == 200
    assert b"less than 12 hours ago" in again.content
    assert Alert.objects.count() == 1


def test_the_htmx_preview_answers_with_just_the_counts(manager_client, account, sender, numbers):
    response = manager_client.post(
        reverse("messaging:alert_new"), {"body": BODY, "target": "everyone", "step": "preview"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.content.lstrip().startswith(b'<section id="alert-preview"')
    assert b'data-count="reach">7<' in response.content


def test_the_progress_fragment_stops_polling_when_the_alert_is_done(
    manager_client, account, sender, numbers, rq_queues
):
    alert = alerts.alert_create(account=account, body=BODY, target="everyone", tags=[], user=None)
    url = reverse("messaging:alert", args=[alert.pk]) + "?part=progress"
    assert manager_client.get(url, HTTP_HX_REQUEST="true").status_code == 200
    run_jobs()
    assert manager_client.get(url, HTTP_HX_REQUEST="true").status_code == 286


def test_another_accounts_alert_is_a_404(other_client, account, sender, numbers):
    alert = alerts.alert_create(account=account, body=BODY, target="everyone", tags=[], user=None)
    assert other_client.get(reverse("messaging:alert", args=[alert.pk])).status_code == 404


def test_the_alert_history_and_sent_texts_pages_list_this_accounts_texts(
    manager_client, account, sender, numbers, rq_queues
):
    alerts.alert_create(account=account, body=BODY, target="everyone", tags=[], user=None)
    run_jobs()
    history = manager_client.get(reverse("messaging:alerts"))
    assert BODY[:40].encode() in history.content
    outbox = manager_client.get(reverse("messaging:outbox"), {"status": "sent"})
    assert outbox.status_code == 200
    assert outbox.content.count(b"badge-sent") == 7


def test_the_alert_page_counts_as_blocked_only_opted_in_numbers_kept_from_it(
    client, account, sender, numbers, manager, rq_queues
):
    # Issue 23, item 4: numbers of the selection that are not opted in were never targeted.
    from django.urls import reverse

    from tests.conftest import verified_login

    alert = alerts.alert_create(account=account, body=BODY, target="everyone", tags=[], user=manager)
    run_jobs()
    page = verified_login(client, manager).get(reverse("messaging:alert", args=[alert.pk])).content.decode()
    assert '<span data-count="blocked">0</span> blocked' in page
    assert 'data-count="log-not_opted_in">4<' in page and 'data-count="log-blocked">0<' in page
    only = verified_login(client, manager).get(reverse("messaging:alert", args=[alert.pk]), {"status": "not_opted_in"})
    assert only.content.decode().count("Not opted in:") == 4
