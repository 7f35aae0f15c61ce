"""Reassigned numbers: the monthly check of every opted-in number against the date its owner consented."""

from datetime import UTC, date, datetime, timedelta

import django_rq
import pytest
from django.urls import reverse
from django.utils import timezone

from lines import jobs, reassigned
from lines.models import JobStage, LineEvent, LineEventKind, ReassignedCheckRun
from subscribers import services as status_service
from subscribers.models import OptEvent, Source, Status, Subscriber
from subscribers.services import Cause
from subscribers.transitions import State
from tests.lines.carriers import ReassignedDatabase


def _opt_in(account, phone, when):
    status_service.subscriber_opt_in(account=account, phone=phone, cause=Cause(source=Source.API))
    OptEvent.objects.filter(account=account, phone=phone).update(created_at=when)
    Subscriber.objects.filter(account=account, phone=phone).update(first_seen=when, status_changed=when)


def test_a_number_reassigned_since_its_consent_is_opted_out_by_the_utility(
    account, run_lookups, django_capture_on_commit_callbacks
):
    consent = datetime(2025, 3, 2, 15, 0, tzinfo=UTC)
    _opt_in(account, "+12025550101", consent)
    _opt_in(account, "+12025550102", consent)
    _opt_in(account, "+12025550103", consent)
    ReassignedDatabase.reassigned = {"+12025550101": date(2025, 6, 1), "+12025550102": date(2024, 1, 1)}
    ReassignedDatabase.no_data = {"+12025550103"}

    with django_capture_on_commit_callbacks(execute=True):
        check = reassigned.reassigned_check_start(account=account)
    run_lookups()
    check.refresh_from_db()
    assert (check.stage, check.checked, check.reassigned, check.no_data) == (JobStage.DONE, 3, 1, 1)
    assert sorted(ReassignedDatabase.asked) == [
        ("+12025550101", date(2025, 3, 2)), ("+12025550102", date(2025, 3, 2)), ("+12025550103", date(2025, 3, 2))
    ]  # fmt: skip

    gone = Subscriber.objects.get(account=account, phone="+12025550101")
    assert (gone.status, gone.opted_out_by) == (Status.OPTED_OUT, "customer")
    event = OptEvent.objects.get(account=account, phone="+12025550101", new_status=Status.OPTED_OUT)
    assert event.source == Source.REASSIGNED
    assert event.note.startswith("Reassigned since consent on 2025-03-02")
    assert LineEvent.objects.get(phone="+12025550101").kind == LineEventKind.REASSIGNED
    # Reassigned before the consent was given: that owner consented, the number stays.
    assert Subscriber.objects.get(account=account, phone="+12025550102").status == Status.OPTED_IN
    assert Subscriber.objects.get(account=account, phone="+12025550103").status == Status.OPTED_IN


def test_the_date_of_consent_is_the_owners_not_a_later_reactivation(
    account, run_lookups, django_capture_on_commit_callbacks
):
    consent = timezone.now() - timedelta(days=400)
    _opt_in(account, "+12025550111", consent)
    status_service.subscriber_suspend(account=account, phone="+12025550111", cause=Cause(source=Source.MANAGER))
    status_service.subscriber_reactivate(account=account, phone="+12025550111", cause=Cause(source=Source.MANAGER))
    with django_capture_on_commit_callbacks(execute=True):
        reassigned.reassigned_check_start(account=account)
    run_lookups()
    assert ReassignedDatabase.asked == [("+12025550111", timezone.localtime(consent, account.tzinfo).date())]


def test_only_opted_in_numbers_of_the_account_are_checked(
    account, other_account, make_subscriber, run_lookups, django_capture_on_commit_callbacks
):
    make_subscriber(account, "+12025550121", State.OPTED_IN)
    make_subscriber(account, "+12025550122", State.SUSPENDED)
    make_subscriber(account, "+12025550123", State.OUT_SUBSCRIBER)
    make_subscriber(other_account, "+12025550124", State.OPTED_IN)
    with django_capture_on_commit_callbacks(execute=True):
        reassigned.reassigned_check_start(account=account)
    run_lookups()
    assert [phone for phone, _ in ReassignedDatabase.asked] == ["+12025550121"]


def test_a_reassigned_number_can_only_come_back_through_its_new_owner(
    account, client, run_lookups, django_capture_on_commit_callbacks
):
    _opt_in(account, "+12025550131", datetime(2025, 1, 5, tzinfo=UTC))
    ReassignedDatabase.reassigned = {"+12025550131": date(2025, 9, 1)}
    with django_capture_on_commit_callbacks(execute=True):
        reassigned.reassigned_check_start(account=account)
    run_lookups()
    with pytest.raises(status_service.TransitionRefused):
        status_service.subscriber_opt_in(account=account, phone="+12025550131", cause=Cause(source=Source.API))
    status_service.subscriber_keyword_start(account=account, phone="+12025550131")  # the new owner texts START
    assert Subscriber.objects.get(account=account, phone="+12025550131").status == Status.OPTED_IN


def test_the_monthly_job_checks_every_account_and_schedules_the_next_month(
    account, other_account, make_subscriber, run_lookups, rq_queues, django_capture_on_commit_callbacks
):
    make_subscriber(account, "+12025550141", State.OPTED_IN)
    make_subscriber(other_account, "+12025550142", State.OPTED_IN)
    redis = django_rq.get_connection("lookups")
    for key in redis.scan_iter("am:reassigned:scheduled:*"):
        redis.delete(key)
    scheduled = django_rq.get_queue("lookups").scheduled_job_registry
    for job_id in scheduled.get_job_ids():
        scheduled.remove(job_id)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs.reassigned_monthly_job() == 2
    run_lookups()
    assert ReassignedCheckRun.objects.filter(stage=JobStage.DONE).count() == 2
    assert sorted(phone for phone, _ in ReassignedDatabase.asked) == ["+12025550141", "+12025550142"]
    assert len(scheduled.get_job_ids()) == 1
    when = reassigned.next_month_start()
    assert (when.day, when.hour) == (1, 6) and when > timezone.now()
    reassigned.schedule_next_month()  # a second worker starting: still once
    assert len(scheduled.get_job_ids()) == 1


def test_without_a_checker_the_check_is_off(account, settings, manager_client):
    settings.REASSIGNED_NUMBERS_CHECKER = ""
    assert reassigned.reassigned_checks_start_all() == 0
    response = manager_client.post(reverse("lines:reassigned_start"), follow=True)
    assert b"No reassigned-numbers checker is set up" in response.content
    assert not ReassignedCheckRun.objects.exists()


def test_the_simulated_checker_follows_its_rule():
    checker = reassigned.SimulatedReassignedChecker()
    since = date(2025, 1, 1)
    assert checker.check([("+12025550113", since), ("+12025550117", since), ("+12025550118", since)]) == {
        "+12025550113": reassigned.Verdict.REASSIGNED,
        "+12025550117": reassigned.Verdict.NO_DATA,
        "+12025550118": reassigned.Verdict.NOT_REASSIGNED,
    }
