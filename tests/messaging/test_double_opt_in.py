"""Double opt-in: the request, YES, expiry, and the public widget with its origin check and limits."""

from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone

from messaging import optin
from messaging.account_settings import messaging_settings_get
from messaging.models import MessagingSettings, OptInRequest
from messaging.optin import double_opt_in_request
from subscribers.models import OptedOutBy, OptEvent, Source, Status, Subscriber
from subscribers.services import Cause, TransitionRefused
from subscribers.transitions import State
from tests.messaging.conftest import run_jobs, sent_to, text_in

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = "+12025550173"
OTHER = "+12025550174"
SITE = "https://www.lakeside-coop.example"


def _status(account, phone=PHONE):
    subscriber = Subscriber.objects.filter(account=account, phone=phone).first()
    return (subscriber.status, subscriber.opted_out_by) if subscriber else None


def _widget(client, account, phone=PHONE, origin=SITE, consent="on", ip="203.0.113.9"):
    key = messaging_settings_get(account=account).widget_key
    headers = {"REMOTE_ADDR": ip}
    if origin:
        headers["HTTP_ORIGIN"] = origin
    data = {"phone": phone}
    if consent:
        data["consent"] = consent
    return client.post(f"/widget/{key}/subscribe/", data, **headers)


@pytest.fixture
def widget_site(account):
    config = messaging_settings_get(account=account)
    config.widget_origins = [SITE]
    config.save()
    return config


def test_a_request_makes_a_new_number_pending_and_texts_it_the_request(account, sender, manager):
    sent = double_opt_in_request(account=account, phone="(202) 555-0173", cause=Cause(Source.MANAGER, user=manager))
    request = sent.request
    assert sent.phone == PHONE
    assert (sent.result.outcome, sent.result.created) == ("pending", True)
    assert _status(account) == (Status.PENDING, "")
    assert sent_to(PHONE) == [messaging_settings_get(account=account).request_text]
    event = OptEvent.objects.get(phone=PHONE)
    assert (event.source, event.user, event.new_status) == (Source.MANAGER, manager, Status.PENDING)
    assert request.expires_at - request.created_at == timedelta(days=7)


def test_a_request_to_an_opted_in_number_is_refused_and_sends_nothing(account, sender, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN)
    with pytest.raises(TransitionRefused) as refused:
        double_opt_in_request(account=account, phone=PHONE, cause=Cause(Source.API))
    assert refused.value.code == "already_opted_in"
    assert sent_to(PHONE) == []
    assert not OptInRequest.objects.exists()


def test_yes_opts_a_pending_number_in_and_sends_the_confirmation(client, account, sender):
    double_opt_in_request(account=account, phone=PHONE, cause=Cause(Source.API))
    text_in(client, "Yes", PHONE, sid="SMyes")
    assert _status(account) == (Status.OPTED_IN, "")
    config = messaging_settings_get(account=account)
    assert sent_to(PHONE) == [config.request_text, config.confirmation_text]
    assert OptInRequest.objects.get().state == OptInRequest.State.CONFIRMED
    confirm = OptEvent.objects.filter(phone=PHONE).order_by("id").last()
    assert (confirm.source, confirm.message_sid) == (Source.DOUBLE_OPT_IN, "SMyes")


def test_an_owner_who_texted_stop_comes_back_only_by_answering_yes(client, account, sender, make_subscriber):
    make_subscriber(account, PHONE, State.OUT_SUBSCRIBER)
    double_opt_in_request(account=account, phone=PHONE, cause=Cause(Source.MANAGER))
    assert _status(account) == (Status.OPTED_OUT, OptedOutBy.SUBSCRIBER)  # unchanged until YES
    text_in(client, "YES", PHONE)
    assert _status(account) == (Status.OPTED_IN, "")


def test_a_stop_after_a_request_closes_it_so_a_later_yes_does_nothing(client, account, sender):
    double_opt_in_request(account=account, phone=PHONE, cause=Cause(Source.API))
    text_in(client, "STOP", PHONE)
    text_in(client, "YES", PHONE)
    assert _status(account) == (Status.OPTED_OUT, OptedOutBy.SUBSCRIBER)
    assert OptInRequest.objects.get().state == OptInRequest.State.CANCELLED


def test_a_yes_after_seven_days_does_not_opt_in(client, account, sender):
    request = double_opt_in_request(account=account, phone=PHONE, cause=Cause(Source.API)).request
    OptInRequest.objects.filter(pk=request.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    text_in(client, "YES", PHONE)
    assert _status(account) == (Status.PENDING, "")


def test_a_request_schedules_its_expiry_and_the_job_expires_it(account, sender, make_subscriber, rq_queues):
    make_subscriber(account, OTHER, State.SUSPENDED)
    first = double_opt_in_request(account=account, phone=PHONE, cause=Cause(Source.API)).request
    double_opt_in_request(account=account, phone=OTHER, cause=Cause(Source.API))
    scheduled = django_rq.get_queue("default").scheduled_job_registry
    assert len(scheduled.get_job_ids()) == 2
    when = scheduled.get_scheduled_time(scheduled.get_job_ids()[0])
    assert first.expires_at <= when <= first.expires_at + timedelta(minutes=2)

    OptInRequest.objects.update(expires_at=timezone.now() - timedelta(minutes=1))  # seven days have passed
    from messaging.jobs import opt_in_requests_expire_job

    django_rq.get_queue("default").enqueue(opt_in_requests_expire_job)
    run_jobs()
    assert _status(account, PHONE) is None  # the pending number leaves the list
    assert _status(account, OTHER) == (Status.SUSPENDED, "")  # a suspended number keeps its status
    assert set(OptInRequest.objects.values_list("state", flat=True)) == {OptInRequest.State.EXPIRED}
    expiry = OptEvent.objects.get(phone=PHONE, source=Source.EXPIRY)
    assert (expiry.old_status, expiry.new_status) == (Status.PENDING, "")


def test_requests_that_are_not_due_do_not_expire(account, sender):
    double_opt_in_request(account=account, phone=PHONE, cause=Cause(Source.API))
    assert optin.opt_in_requests_expire() == 0
    assert _status(account) == (Status.PENDING, "")


def test_the_widget_page_is_framed_only_by_the_accounts_sites(client, account, widget_site):
    response = client.get(f"/widget/{widget_site.widget_key}/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert f"frame-ancestors 'self' {SITE}" in response["Content-Security-Policy"]
    assert b'name="phone"' in response.content and b"<label" in response.content


def test_an_unknown_widget_key_is_a_404(client, account):
    assert client.get("/widget/nope/").status_code == 404


def test_the_widget_makes_a_number_pending_and_yes_opts_it_in(client, account, sender, widget_site):
    response = _widget(client, account, phone="202-555-0173")
    assert response.status_code == 200
    assert b"Reply YES" in response.content
    assert _status(account) == (Status.PENDING, "")
    assert OptEvent.objects.get(phone=PHONE).source == Source.WIDGET
    request = OptInRequest.objects.get()
    assert (request.source, request.client_ip) == (Source.WIDGET, "203.0.113.9")
    text_in(client, "YES", PHONE)
    assert _status(account) == (Status.OPTED_IN, "")
    config = messaging_settings_get(account=account)
    assert sent_to(PHONE) == [config.request_text, config.confirmation_text]


def test_the_widget_refuses_a_post_from_a_site_that_is_not_allowed(client, account, sender, widget_site):
    response = _widget(client, account, origin="https://evil.example")
    assert response.status_code == 403
    assert _widget(client, account, origin="").status_code == 403
    assert not Subscriber.objects.exists()
    assert sent_to(PHONE) == []


def test_the_widget_accepts_its_own_frame_without_listed_sites(client, account, sender):
    assert _widget(client, account, origin="http://testserver").status_code == 200
    assert _status(account) == (Status.PENDING, "")


def test_the_widget_asks_again_for_a_bad_number_or_a_missing_consent(client, account, sender, widget_site):
    bad = _widget(client, account, phone="12345")
    assert bad.status_code == 400
    assert b"not a valid US or Canadian phone number" in bad.content
    no_consent = _widget(client, account, consent="")
    assert no_consent.status_code == 400
    assert not Subscriber.objects.exists()


def test_the_widget_sends_one_request_per_number_per_day(client, account, sender, widget_site):
    assert _widget(client, account, ip="198.51.100.1").status_code == 200
    again = _widget(client, account, ip="198.51.100.2")
    assert again.status_code == 429
    assert b"already sent a text to this number today" in again.content
    assert len(sent_to(PHONE)) == 1
    assert OptInRequest.objects.count() == 1


def test_the_widget_limits_sign_ups_per_visitor(client, account, sender, widget_site, settings):
    settings.WIDGET_LIMIT_PER_IP_PER_HOUR = 2
    phones = ["+12025550171", "+12025550172", "+12025550175"]
    codes = [_widget(client, account, phone=p, ip="198.51.100.7").status_code for p in phones]
    assert codes == [200, 200, 429]
    assert sent_to(phones[2]) == []
    assert _widget(client, account, phone=phones[2], ip="198.51.100.8").status_code == 200


def test_the_widget_limits_sign_ups_per_account_per_hour(client, account, sender, widget_site, settings):
    settings.WIDGET_LIMIT_PER_ACCOUNT_PER_HOUR = 1
    assert _widget(client, account, phone="+12025550171", ip="198.51.100.1").status_code == 200
    over = _widget(client, account, phone="+12025550172", ip="198.51.100.2")
    assert over.status_code == 429
    assert b"many sign-ups" in over.content
    assert sent_to("+12025550172") == []


def test_the_widget_tells_an_opted_in_number_it_is_already_signed_up(
    client, account, sender, widget_site, make_subscriber
):
    make_subscriber(account, PHONE, State.OPTED_IN)
    response = _widget(client, account)
    assert response.status_code == 200
    assert b"already signed up" in response.content
    assert sent_to(PHONE) == []


def test_a_widget_of_one_account_never_touches_another(
    client, account, other_account, sender, widget_site, make_subscriber
):
    make_subscriber(other_account, PHONE, State.OPTED_IN)
    _widget(client, account)
    assert _status(other_account) == (Status.OPTED_IN, "")
    assert MessagingSettings.objects.filter(account=other_account).count() <= 1


def test_the_expiry_command_expires_due_requests(account, sender):
    from io import StringIO

    from django.core.management import call_command

    double_opt_in_request(account=account, phone=PHONE, cause=Cause(Source.API))
    OptInRequest.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    out = StringIO()
    call_command("expire_opt_in_requests", stdout=out)
    assert "Expired 1 double opt-in request." in out.getvalue()
    assert _status(account) is None


def test_a_refused_widget_sign_up_does_not_use_up_the_numbers_day(
    client, account, sender, widget_site, make_subscriber
):
    subscriber = make_subscriber(account, PHONE, State.OPTED_IN)
    assert b"already signed up" in _widget(client, account).content
    from subscribers.services import subscriber_suspend

    subscriber_suspend(account=account, phone=subscriber.phone, cause=Cause(Source.MANAGER))
    assert _widget(client, account).status_code == 200
    assert len(sent_to(PHONE)) == 1
