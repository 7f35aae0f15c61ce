"""A number's page, adding a number, its tags, and suspend / reactivate / opt out / delete."""

import pytest
from django.urls import reverse

from subscribers.models import OptEvent, Source, Status, Subscriber
from subscribers.services import Cause, subscriber_keyword_stop, subscriber_opt_in
from subscribers.transitions import State

pytestmark = pytest.mark.django_db

ADD = reverse("subscribers:add")


def _detail(subscriber):
    return reverse("subscribers:detail", args=[subscriber.pk])


def _action(subscriber, action):
    return reverse("subscribers:action", args=[subscriber.pk, action])


def test_adding_a_number_with_tags_opts_it_in_and_records_the_manager(manager_client, account, manager):
    response = manager_client.post(ADD, {"phone": " (218) 555-0134 ", "tags": "District 1, Feeder A1, district 1"})
    subscriber = Subscriber.objects.get(account=account, phone="+12185550134")
    assert response.status_code == 302
    assert response.url == _detail(subscriber)
    assert subscriber.status == Status.OPTED_IN
    assert sorted(subscriber.tags.values_list("name", flat=True)) == ["District 1", "Feeder A1"]
    event = OptEvent.objects.get(account=account, phone="+12185550134")
    assert (event.source, event.user, event.old_status, event.new_status) == (Source.MANAGER, manager, "", "opted_in")
    assert event.tags_added == ["District 1", "Feeder A1"]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("555-0134", "not a valid US or Canadian phone number"),
        ("+44 20 7946 0958", "Only US and Canadian numbers"),
        ("(800) 555-0199", "cannot receive texts"),
        ("", "This field is required"),
    ],
)
def test_an_invalid_number_gets_a_clear_message_on_the_form(manager_client, account, typed, message):
    response = manager_client.post(ADD, {"phone": typed, "tags": "District 1"})
    assert response.status_code == 200
    assert message in response.text
    assert 'value="District 1"' in response.text  # what was typed is kept
    assert not Subscriber.objects.filter(account=account).exists()


def test_an_opted_out_number_cannot_be_added_back(manager_client, account):
    subscriber_keyword_stop(account=account, phone="+12185550134")
    response = manager_client.post(ADD, {"phone": "218-555-0134"})
    assert response.status_code == 200
    assert "opted out by texting STOP" in response.text
    assert Subscriber.objects.get(account=account, phone="+12185550134").status == Status.OPTED_OUT


def test_a_number_already_on_the_list_is_reported_not_added_twice(manager_client, account, make_subscriber):
    make_subscriber(account, "+12185550134", State.SUSPENDED)
    response = manager_client.post(ADD, {"phone": "2185550134", "tags": "X"})
    assert response.status_code == 200
    assert "already on the list (suspended)" in response.text
    assert not OptEvent.objects.filter(account=account).exists()


def test_the_same_number_in_another_account_can_be_added(manager_client, account, other_account, make_subscriber):
    make_subscriber(other_account, "+12185550134", State.OUT_SUBSCRIBER)
    response = manager_client.post(ADD, {"phone": "2185550134"})
    assert response.status_code == 302
    assert Subscriber.objects.get(account=account, phone="+12185550134").status == Status.OPTED_IN


def test_the_number_page_shows_status_tags_and_the_whole_history(manager_client, account, manager):
    subscriber_opt_in(account=account, phone="+12185550134", cause=Cause(Source.IMPORT), tags=["District 1"])
    subscriber_keyword_stop(account=account, phone="+12185550134", message_sid="SM123")
    subscriber = Subscriber.objects.get(phone="+12185550134")
    response = manager_client.get(_detail(subscriber))
    assert response.status_code == 200
    text = response.text
    assert "(218) 555-0134" in text
    assert "its owner (texted STOP or similar)" in text
    assert "Opted in → Opted out" in text
    assert "not on the list → Opted in" in text
    assert "+ District 1" in text
    assert "Text keyword" in text and "SM123" in text
    # Times are shown in the account's time zone (America/Chicago).
    assert "CST" in text or "CDT" in text


def test_an_opted_out_number_offers_only_a_double_opt_in_request(manager_client, account, make_subscriber):
    subscriber = make_subscriber(account, "+12185550134", State.OUT_CUSTOMER)
    response = manager_client.get(_detail(subscriber))
    assert "Send a double opt-in request" in response.text
    assert reverse("messaging:subscriber_request_opt_in", args=[subscriber.pk]) in response.text
    assert _action(subscriber, "reactivate") not in response.text
    response = manager_client.post(_action(subscriber, "reactivate"), follow=True)
    subscriber.refresh_from_db()
    assert subscriber.status == Status.OPTED_OUT
    assert "cannot be undone" in response.text


def test_another_accounts_number_page_is_a_404(manager_client, other_account, make_subscriber):
    theirs = make_subscriber(other_account, "+12185550134", State.OPTED_IN)
    assert manager_client.get(_detail(theirs)).status_code == 404
    assert manager_client.post(_action(theirs, "suspend"), {"confirmed": "1"}).status_code == 404
    assert manager_client.post(reverse("subscribers:edit_tags", args=[theirs.pk]), {"tags": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.OPTED_IN


def test_suspending_asks_once_then_suspends_through_the_service(manager_client, account, manager, make_subscriber):
    subscriber = make_subscriber(account, "+12185550134", State.OPTED_IN)
    ask = manager_client.get(_action(subscriber, "suspend"))
    assert ask.status_code == 200
    assert "stop receiving alerts" in ask.text
    unconfirmed = manager_client.post(_action(subscriber, "suspend"))
    assert unconfirmed.status_code == 200  # the question again, nothing done
    subscriber.refresh_from_db()
    assert subscriber.status == Status.OPTED_IN
    done = manager_client.post(_action(subscriber, "suspend"), {"confirmed": "1"})
    assert done.status_code == 302
    subscriber.refresh_from_db()
    assert subscriber.status == Status.SUSPENDED
    event = OptEvent.objects.get(account=account, phone=subscriber.phone)
    assert (event.old_status, event.new_status, event.source, event.user) == (
        "opted_in",
        "suspended",
        "manager",
        manager,
    )


def test_reactivating_needs_no_confirmation(manager_client, account, make_subscriber):
    subscriber = make_subscriber(account, "+12185550134", State.SUSPENDED)
    manager_client.post(_action(subscriber, "reactivate"))
    subscriber.refresh_from_db()
    assert subscriber.status == Status.OPTED_IN


def test_opting_out_records_the_utility_as_the_cause(manager_client, account, make_subscriber):
    subscriber = make_subscriber(account, "+12185550134", State.OPTED_IN)
    manager_client.post(_action(subscriber, "opt_out"), {"confirmed": "1"})
    subscriber.refresh_from_db()
    assert (subscriber.status, subscriber.opted_out_by) == ("opted_out", "customer")


def test_deleting_removes_the_number_but_keeps_its_history(manager_client, account, make_subscriber):
    subscriber = make_subscriber(account, "+12185550134", State.OPTED_IN, tags=["District 1"])
    response = manager_client.post(_action(subscriber, "delete"), {"confirmed": "1"})
    assert response.url == reverse("subscribers:list")
    assert not Subscriber.objects.filter(account=account, phone="+12185550134").exists()
    event = OptEvent.objects.get(account=account, phone="+12185550134")
    assert event.tags_removed == ["District 1"] and event.new_status == ""


def test_an_unknown_action_is_a_404(manager_client, account, make_subscriber):
    subscriber = make_subscriber(account, "+12185550134", State.OPTED_IN)
    assert manager_client.post(_action(subscriber, "confirm"), {"confirmed": "1"}).status_code == 404


def test_editing_tags_sets_them_exactly_and_records_the_change(manager_client, account, make_subscriber):
    subscriber = make_subscriber(account, "+12185550134", State.OPTED_IN, tags=["District 1", "Feeder A1"])
    response = manager_client.post(
        reverse("subscribers:edit_tags", args=[subscriber.pk]), {"tags": "Feeder A1, Medical priority"}
    )
    assert response.status_code == 302
    assert sorted(subscriber.tags.values_list("name", flat=True)) == ["Feeder A1", "Medical priority"]
    event = OptEvent.objects.get(account=account, phone=subscriber.phone)
    assert (event.tags_added, event.tags_removed) == (["Medical priority"], ["District 1"])
    subscriber.refresh_from_db()
    assert subscriber.status == Status.OPTED_IN


def test_a_tag_that_is_too_long_is_refused_with_a_message(manager_client, account, make_subscriber):
    subscriber = make_subscriber(account, "+12185550134", State.OPTED_IN, tags=["District 1"])
    response = manager_client.post(
        reverse("subscribers:edit_tags", args=[subscriber.pk]), {"tags": "x" * 80}, follow=True
    )
    assert "at most 75 characters" in response.text
    assert list(subscriber.tags.values_list("name", flat=True)) == ["District 1"]


def test_the_double_opt_in_request_texts_the_owner_and_keeps_the_number_opted_out(
    manager_client, account, manager, make_subscriber, settings, django_capture_on_commit_callbacks
):
    from messaging import gateway
    from messaging.models import OptInRequest
    from subscribers.services import account_sender_add

    settings.SMS_GATEWAY = "memory"  # the SMS provider, faked
    gateway.outbox.clear()
    account_sender_add(account=account, phone="73303")
    subscriber = make_subscriber(account, "+12185550134", State.OUT_SUBSCRIBER)
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            reverse("messaging:subscriber_request_opt_in", args=[subscriber.pk]), follow=True
        )
    assert "A double opt-in request was texted to (218) 555-0134" in response.text
    subscriber.refresh_from_db()
    assert subscriber.status == Status.OPTED_OUT
    request = OptInRequest.objects.get(account=account, phone="+12185550134")
    assert request.user == manager
    assert [sent.to for sent in gateway.outbox] == ["+12185550134"]
    gateway.outbox.clear()


def test_the_double_opt_in_request_without_a_sender_number_says_what_to_do(manager_client, account, make_subscriber):
    subscriber = make_subscriber(account, "+12185550134", State.OUT_SUBSCRIBER)
    response = manager_client.post(reverse("messaging:subscriber_request_opt_in", args=[subscriber.pk]), follow=True)
    assert "no sender number" in response.text
