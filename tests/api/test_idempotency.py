"""POSTs with an Idempotency-Key: a repeat within 24 hours gets the first answer and does nothing again."""

from datetime import timedelta

from django.utils import timezone

from api import services as api_services
from api.models import IdempotencyRecord
from subscribers.models import OptEvent, Subscriber
from subscribers.transitions import State
from tests.api.conftest import assert_error

PHONE = "+12025550173"


def test_a_repeated_opt_in_returns_the_first_answer_without_doing_it_again(api, account):
    headers = {"Idempotency-Key": "sync-2026-12-02-0001"}

    first = api.post(f"/subscribers/{PHONE}/opt-in", {"tags": ["District 4"]}, headers=headers)
    # Meanwhile the number changes: a repeat must not opt it in again.
    from subscribers import services
    from subscribers.models import Source
    from subscribers.services import Cause

    services.subscriber_suspend(account=account, phone=PHONE, cause=Cause(Source.MANAGER))
    events = OptEvent.objects.count()
    again = api.post(f"/subscribers/{PHONE}/opt-in", {"tags": ["District 4"]}, headers=headers)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.json()["is_new"] is True
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert OptEvent.objects.count() == events
    assert Subscriber.objects.get(phone=PHONE).status == "suspended"


def test_a_refusal_is_replayed_too(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.OUT_SUBSCRIBER)
    headers = {"Idempotency-Key": "k-409"}
    first = api.post(f"/subscribers/{PHONE}/opt-in", headers=headers)
    again = api.post(f"/subscribers/{PHONE}/opt-in", headers=headers)
    assert_error(first, 409, "opted_out")
    assert_error(again, 409, "opted_out")
    assert again["Idempotent-Replayed"] == "true"


def test_each_endpoint_that_changes_takes_a_key(api, account, make_subscriber):
    make_subscriber(account, PHONE, State.OPTED_IN)
    for n, path in enumerate(["suspend", "reactivate", "tags/Storm", "opt-out"]):
        headers = {"Idempotency-Key": f"k-{n}"}
        first = api.post(f"/subscribers/{PHONE}/{path}", headers=headers)
        events = OptEvent.objects.count()
        again = api.post(f"/subscribers/{PHONE}/{path}", headers=headers)
        assert first.status_code == 200, first.content
        assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
        assert OptEvent.objects.count() == events


def test_the_same_key_for_a_different_request_is_refused(api):
    headers = {"Idempotency-Key": "reused"}
    api.post(f"/subscribers/{PHONE}/opt-in", {"tags": ["A"]}, headers=headers)

    other_body = api.post(f"/subscribers/{PHONE}/opt-in", {"tags": ["B"]}, headers=headers)
    other_number = api.post("/subscribers/2025550174/opt-in", {"tags": ["A"]}, headers=headers)

    assert_error(other_body, 422, "idempotency_key_reused", "Idempotency-Key")
    assert_error(other_number, 422, "idempotency_key_reused")
    assert not Subscriber.objects.filter(phone="+12025550174").exists()
    assert [t.name for t in Subscriber.objects.get(phone=PHONE).tags.all()] == ["A"]


def test_a_key_still_being_answered_gets_409(api, account):
    path = f"/api/v1/subscribers/{PHONE}/opt-in"
    fingerprint = api_services.request_fingerprint("POST", path, b'{"tags": []}')
    IdempotencyRecord.objects.create(account=account, key="busy", fingerprint=fingerprint)
    response = api.post(f"/subscribers/{PHONE}/opt-in", {"tags": []}, headers={"Idempotency-Key": "busy"})
    assert_error(response, 409, "idempotency_in_progress")
    assert not Subscriber.objects.exists()


def test_a_key_whose_first_request_died_can_be_used_again(api, account):
    IdempotencyRecord.objects.create(
        account=account, key="died", fingerprint="x" * 64, created_at=timezone.now() - timedelta(minutes=5)
    )
    assert api.post(f"/subscribers/{PHONE}/opt-in", headers={"Idempotency-Key": "died"}).status_code == 200


def test_after_24_hours_the_same_key_does_the_work_again(api, account):
    headers = {"Idempotency-Key": "daily"}
    api.post(f"/subscribers/{PHONE}/opt-out", headers=headers)
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=24, seconds=1))
    Subscriber.objects.all().delete()

    again = api.post(f"/subscribers/{PHONE}/opt-out", headers=headers)

    assert "Idempotent-Replayed" not in again
    # Done again: the number is recorded again (an opt-out of a number the account lacks, so never new).
    assert (again.json()["outcome"], again.json()["is_new"]) == ("opted_out", False)
    assert Subscriber.objects.filter(phone=PHONE).exists()


def test_keys_are_per_account(api, other_api, account, other_account):
    headers = {"Idempotency-Key": "shared-name"}
    assert api.post(f"/subscribers/{PHONE}/opt-in", headers=headers).status_code == 200
    theirs = other_api.post(f"/subscribers/{PHONE}/opt-out", headers=headers)
    assert theirs.status_code == 200 and "Idempotent-Replayed" not in theirs
    assert Subscriber.objects.get(account=other_account).status == "opted_out"
    assert Subscriber.objects.get(account=account).status == "opted_in"


def test_requests_without_a_key_are_not_remembered(api):
    api.post(f"/subscribers/{PHONE}/opt-in")
    assert not IdempotencyRecord.objects.exists()


def test_a_malformed_key_is_refused(api):
    assert_error(api.post(f"/subscribers/{PHONE}/opt-in", headers={"Idempotency-Key": "x" * 256}), 422,
                 "validation_error", "Idempotency-Key")  # fmt: skip
    assert not Subscriber.objects.exists()


def test_old_answers_are_purged(account):
    IdempotencyRecord.objects.create(account=account, key="old", fingerprint="f", status_code=200, response={},
                                     created_at=timezone.now() - timedelta(days=2))  # fmt: skip
    IdempotencyRecord.objects.create(account=account, key="new", fingerprint="f", status_code=200, response={})
    assert api_services.idempotency_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
