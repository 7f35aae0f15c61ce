"""Bulk actions from the list: over ticked numbers or over everything a filter matches."""

import pytest
from django.urls import reverse

from subscribers.models import OptEvent, Status, Subscriber, Tag
from subscribers.transitions import State

pytestmark = pytest.mark.django_db

BULK = reverse("subscribers:bulk")


@pytest.fixture
def numbers(account, make_subscriber):
    return {
        "in_d1": make_subscriber(account, "+12185550101", State.OPTED_IN, tags=["District 1"]),
        "in_d1b": make_subscriber(account, "+12185550102", State.OPTED_IN, tags=["District 1", "Feeder A1"]),
        "in_d2": make_subscriber(account, "+12185550103", State.OPTED_IN, tags=["District 2"]),
        "susp_d1": make_subscriber(account, "+12185550104", State.SUSPENDED, tags=["District 1"]),
        "out_d1": make_subscriber(account, "+12185550105", State.OUT_SUBSCRIBER, tags=["District 1"]),
        "pend_d1": make_subscriber(account, "+12185550106", State.PENDING, tags=["District 1"]),
    }


def _status(subscriber):
    subscriber.refresh_from_db()
    return subscriber.status


def _d1(account):
    return Tag.objects.get(account=account, name="District 1").pk


def test_a_bulk_suspend_of_a_filter_asks_once_with_the_count_then_applies_the_rules(
    manager_client, account, manager, numbers
):
    url = f"{BULK}?tags={_d1(account)}"
    ask = manager_client.post(url, {"action": "suspend", "scope": "all"})
    assert ask.status_code == 200
    assert "Suspend 5 numbers?" in ask.text
    assert _status(numbers["in_d1"]) == Status.OPTED_IN  # nothing yet

    done = manager_client.post(url, {"action": "suspend", "scope": "all", "confirmed": "True"}, follow=True)
    assert "2 numbers suspended." in done.text
    assert "1 waiting for their owners" in done.text
    assert _status(numbers["in_d1"]) == _status(numbers["in_d1b"]) == Status.SUSPENDED
    assert _status(numbers["in_d2"]) == Status.OPTED_IN  # outside the filter
    assert _status(numbers["out_d1"]) == Status.OPTED_OUT
    assert _status(numbers["pend_d1"]) == Status.PENDING
    events = OptEvent.objects.filter(account=account).order_by("phone")
    assert [(e.phone, e.old_status, e.new_status, e.source, e.user_id) for e in events] == [
        ("+12185550101", "opted_in", "suspended", "manager", manager.pk),
        ("+12185550102", "opted_in", "suspended", "manager", manager.pk),
    ]


def test_a_bulk_action_on_ticked_numbers_touches_only_those(manager_client, account, numbers):
    ticked = [numbers["in_d1"].pk, numbers["in_d2"].pk]
    manager_client.post(BULK, {"action": "opt_out", "scope": "selected", "selected": ticked, "confirmed": "True"})
    assert _status(numbers["in_d1"]) == _status(numbers["in_d2"]) == Status.OPTED_OUT
    assert numbers["in_d1"].opted_out_by == "customer"
    assert _status(numbers["in_d1b"]) == Status.OPTED_IN


def test_ticked_ids_of_another_account_are_ignored(manager_client, numbers, other_account, make_subscriber):
    theirs = make_subscriber(other_account, "+12185550199", State.OPTED_IN)
    response = manager_client.post(
        BULK, {"action": "suspend", "scope": "selected", "selected": [theirs.pk], "confirmed": "True"}, follow=True
    )
    assert "No numbers match" in response.text
    assert _status(theirs) == Status.OPTED_IN


def test_all_matching_never_reaches_another_account(manager_client, account, numbers, other_account, make_subscriber):
    theirs = make_subscriber(other_account, "+12185550199", State.OPTED_IN)
    manager_client.post(BULK, {"action": "suspend", "scope": "all", "confirmed": "True"})
    assert _status(theirs) == Status.OPTED_IN
    assert not OptEvent.objects.filter(account=other_account).exists()


def test_bulk_reactivate_refuses_opted_out_numbers_and_says_so(manager_client, account, numbers):
    response = manager_client.post(f"{BULK}?tags={_d1(account)}", {"action": "reactivate", "scope": "all"}, follow=True)
    assert "1 number reactivated." in response.text
    assert "1 opted out (only their owners can opt back in)" in response.text
    assert _status(numbers["susp_d1"]) == Status.OPTED_IN
    assert _status(numbers["out_d1"]) == Status.OPTED_OUT


def test_bulk_delete_keeps_owner_opt_outs_as_blocks(manager_client, account, numbers):
    ticked = [numbers["in_d2"].pk, numbers["out_d1"].pk]
    manager_client.post(BULK, {"action": "delete", "scope": "selected", "selected": ticked, "confirmed": "True"})
    assert not Subscriber.objects.filter(pk=numbers["in_d2"].pk).exists()
    block = Subscriber.objects.get(pk=numbers["out_d1"].pk)
    assert block.removed_at is not None and block.tags.count() == 0
    assert not Subscriber.objects.listed().filter(pk=block.pk).exists()
    removed = OptEvent.objects.get(phone="+12185550103")
    assert (removed.old_status, removed.new_status, removed.tags_removed) == ("opted_in", "", ["District 2"])
    kept = OptEvent.objects.get(phone="+12185550105")
    assert (kept.old_status, kept.new_status, kept.tags_removed) == ("opted_out", "opted_out", ["District 1"])


def test_bulk_add_and_remove_a_tag(manager_client, account, manager, numbers):
    url = f"{BULK}?status=opted_in"
    manager_client.post(url, {"action": "add_tag", "scope": "all", "tag": "Storm list"})
    storm = Tag.objects.get(account=account, name="Storm list")
    assert set(storm.subscribers.values_list("phone", flat=True)) == {"+12185550101", "+12185550102", "+12185550103"}
    assert OptEvent.objects.filter(tags_added=["Storm list"], user=manager).count() == 3
    manager_client.post(url, {"action": "remove_tag", "scope": "all", "tag": "storm LIST"})
    assert storm.subscribers.count() == 0
    assert OptEvent.objects.filter(tags_removed=["Storm list"]).count() == 3
    assert _status(numbers["in_d1"]) == Status.OPTED_IN


def test_removing_a_tag_nobody_has_says_so(manager_client, numbers):
    response = manager_client.post(BULK, {"action": "remove_tag", "scope": "all", "tag": "Nope"}, follow=True)
    assert "There is no tag “Nope”" in response.text


def test_a_bulk_form_without_a_selection_or_tag_explains_what_is_missing(manager_client, numbers):
    response = manager_client.post(BULK, {"action": "suspend", "scope": "selected"}, follow=True)
    assert "Select at least one number" in response.text
    response = manager_client.post(BULK, {"action": "add_tag", "scope": "all", "tag": " "}, follow=True)
    assert "Enter the tag to add or remove." in response.text


def test_an_uploader_cannot_run_bulk_actions(uploader_client, account, numbers):
    response = uploader_client.post(BULK, {"action": "suspend", "scope": "all", "confirmed": "True"})
    assert response.status_code == 403
    assert _status(numbers["in_d1"]) == Status.OPTED_IN
