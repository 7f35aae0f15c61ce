"""Line-type lookups: a pass of jobs on the `lookups` queue after an import lands, in batches, rate-limited,
retried with back-off, cached for LINE_TYPE_MAX_AGE_DAYS; never inside the import, never failing it."""

import io
from datetime import timedelta

import django_rq
import pytest
from django.utils import timezone

from imports import services as import_services
from imports.models import RunSource, Stage
from lines import lookups
from lines.models import JobStage, LineType, LookupRun, LookupUsage, NumberLine
from subscribers.models import Subscriber
from subscribers.transitions import State
from tests.conftest import run_worker
from tests.lines.carriers import Carrier


@pytest.fixture(autouse=True)
def uploads(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"


def _import(account, phones, capture, **kwargs):
    content = "\n".join(phones).encode()
    with capture(execute=True):
        run = import_services.import_run_create(
            account=account, file=io.BytesIO(content), file_name="list.csv", source=RunSource.CLI, **kwargs
        )
    # The import's job queues the lookups once it has committed: run it as the worker would, then the lookups.
    with capture(execute=True):
        run_worker("imports")
    run.refresh_from_db()
    return run


def _lines(account) -> dict[str, str]:
    return dict(NumberLine.objects.filter(account=account).values_list("phone", "line_type"))


PHONES = [f"+1202555{1000 + i}" for i in range(12)]


def test_it_looks_up_the_numbers_an_import_brought_after_it_lands(
    run_lookups, account, rq_queues, django_capture_on_commit_callbacks, settings
):
    settings.LINE_TYPE_LOOKUP_BATCH_SIZE = 5
    run = _import(account, PHONES, django_capture_on_commit_callbacks)
    assert run.stage == Stage.DONE
    assert NumberLine.objects.filter(account=account).count() == 0  # nothing was looked up inside the import
    pass_ = LookupRun.objects.get(import_run=run)
    assert (pass_.stage, pass_.pending) == (JobStage.QUEUED, 0)
    assert django_rq.get_queue("lookups").count == 1

    run_lookups()
    pass_.refresh_from_db()
    assert (pass_.stage, pass_.total, pass_.done, pass_.failed, pass_.looked_up) == (JobStage.DONE, 12, 12, 0, 12)
    expected = {p: LineType.LANDLINE if p.endswith("0") else LineType.VOIP if p.endswith("9") else LineType.MOBILE
                for p in PHONES}  # fmt: skip
    assert _lines(account) == expected
    line = NumberLine.objects.get(account=account, phone=PHONES[1])
    assert (line.checked_by, line.carrier) == ("test-carrier", "Test Wireless")
    assert line.checked_at is not None
    assert sorted(phone for phone, _ in Carrier.calls) == sorted(PHONES)  # each asked once, in 3 batches


def test_a_preview_looks_nothing_up(account, rq_queues, django_capture_on_commit_callbacks):
    run = _import(account, PHONES[:3], django_capture_on_commit_callbacks, dry_run=True)
    assert run.stage == Stage.DONE
    assert not LookupRun.objects.exists()


def test_numbers_checked_within_the_max_age_are_not_asked_again(
    run_lookups, account, make_subscriber, rq_queues, django_capture_on_commit_callbacks, settings
):
    settings.LINE_TYPE_MAX_AGE_DAYS = 30
    for phone in PHONES[:4]:
        make_subscriber(account, phone, State.OPTED_IN)
    now = timezone.now()
    NumberLine.objects.create(account=account, phone=PHONES[0], line_type="mobile", checked_at=now - timedelta(days=3))
    NumberLine.objects.create(account=account, phone=PHONES[1], line_type="mobile", checked_at=now - timedelta(days=31))
    # A number deleted from the list and added back keeps what was paid for: the line is kept by phone.
    NumberLine.objects.create(account=account, phone=PHONES[4], line_type="landline", checked_at=now)
    make_subscriber(account, PHONES[5], State.OUT_SUBSCRIBER)  # no alert goes there: not worth a lookup

    run = _import(account, [PHONES[0], PHONES[4], PHONES[4], PHONES[6]], django_capture_on_commit_callbacks)
    assert run.stage == Stage.DONE
    run_lookups()

    asked = sorted(phone for phone, _ in Carrier.calls)
    assert asked == sorted([PHONES[1], PHONES[2], PHONES[3], PHONES[6]])
    assert NumberLine.objects.get(account=account, phone=PHONES[4]).line_type == LineType.LANDLINE
    assert LookupUsage.objects.get(account=account).lookups == 4

    # A second pass right after finds everything fresh and asks nothing.
    Carrier.calls = []
    with django_capture_on_commit_callbacks(execute=True):
        lookups.lookup_run_start(account=account)
    run_lookups()
    assert Carrier.calls == []
    assert LookupRun.objects.order_by("-id").first().stage == JobStage.DONE


def test_lookups_keep_to_the_rate_across_the_pass(run_lookups, account, make_subscriber, rq_queues, settings,
                                                  django_capture_on_commit_callbacks):  # fmt: skip
    settings.LINE_TYPE_LOOKUP_RATE = 20
    settings.LINE_TYPE_LOOKUP_BATCH_SIZE = 4
    for phone in PHONES[:10]:
        make_subscriber(account, phone, State.OPTED_IN)
    django_rq.get_connection("lookups").delete("am:lookups:rate:test-carrier")
    with django_capture_on_commit_callbacks(execute=True):
        lookups.lookup_run_start(account=account)
    run_lookups()
    times = [at for _, at in Carrier.calls]
    assert len(times) == 10
    # 20 a second: ten lookups span at least nine intervals of 50 ms, whatever the batches.
    assert times[-1] - times[0] >= 9 * 0.05 - 0.02
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.05 - 0.02


def test_requests_run_concurrently_up_to_the_limit(run_lookups, account, make_subscriber, rq_queues, settings,
                                                    django_capture_on_commit_callbacks):  # fmt: skip
    settings.LINE_TYPE_LOOKUP_CONCURRENCY = 3
    Carrier.delay = 0.05
    for phone in PHONES[:9]:
        make_subscriber(account, phone, State.OPTED_IN)
    with django_capture_on_commit_callbacks(execute=True):
        lookups.lookup_run_start(account=account)
    run_lookups()
    assert Carrier.max_in_flight == 3  # three at once, never more
    assert len(_lines(account)) == 9


def test_a_number_the_provider_cannot_answer_now_is_asked_again_with_back_off(
    run_lookups, account, make_subscriber, rq_queues, settings, django_capture_on_commit_callbacks
):
    settings.LINE_TYPE_LOOKUP_BACKOFF = 0.05
    for phone in PHONES[:3]:
        make_subscriber(account, phone, State.OPTED_IN)
    Carrier.unavailable = {PHONES[1]: 2, PHONES[2]: -1}  # answers on the third ask; never
    with django_capture_on_commit_callbacks(execute=True):
        pass_ = lookups.lookup_run_start(account=account)
    run_lookups()
    pass_.refresh_from_db()
    asks = [at for phone, at in Carrier.calls if phone == PHONES[1]]
    assert len(asks) == 3
    assert asks[1] - asks[0] >= 0.05 and asks[2] - asks[1] >= 0.1  # doubling
    assert len([1 for phone, _ in Carrier.calls if phone == PHONES[2]]) == 4  # the first ask and three retries
    assert (pass_.stage, pass_.done, pass_.failed) == (JobStage.DONE, 2, 1)
    assert set(_lines(account)) == {PHONES[0], PHONES[1]}

    # The one left unchecked is what the next pass looks up.
    Carrier.unavailable = {}
    Carrier.calls = []
    with django_capture_on_commit_callbacks(execute=True):
        lookups.lookup_run_start(account=account)
    run_lookups()
    assert [phone for phone, _ in Carrier.calls] == [PHONES[2]]


def test_refused_credentials_stop_the_pass_with_the_reason(
    run_lookups, account, make_subscriber, rq_queues, django_capture_on_commit_callbacks
):
    make_subscriber(account, PHONES[0], State.OPTED_IN)
    Carrier.refuse = True
    with django_capture_on_commit_callbacks(execute=True):
        pass_ = lookups.lookup_run_start(account=account)
    run_lookups()
    pass_.refresh_from_db()
    assert pass_.stage == JobStage.FAILED
    assert "refused the credentials" in pass_.error
    assert not NumberLine.objects.exists()


def test_a_broken_provider_never_fails_or_changes_the_import(
    run_lookups, account, rq_queues, django_capture_on_commit_callbacks
):
    Carrier.broken = True
    run = _import(account, PHONES[:3], django_capture_on_commit_callbacks)
    run_lookups()
    run.refresh_from_db()
    assert run.stage == Stage.DONE
    assert Subscriber.objects.filter(account=account).count() == 3
    pass_ = LookupRun.objects.get(import_run=run)
    assert pass_.stage == JobStage.FAILED
    assert "nobody expected" in pass_.error


def test_the_free_metadata_provider_is_not_counted_as_usage(
    run_lookups, account, make_subscriber, rq_queues, settings, django_capture_on_commit_callbacks
):
    settings.LINE_TYPE_LOOKUP = "metadata"
    make_subscriber(account, "+12025550100", State.OPTED_IN)
    with django_capture_on_commit_callbacks(execute=True):
        lookups.lookup_run_start(account=account)
    run_lookups()
    line = NumberLine.objects.get(account=account)
    assert (line.line_type, line.checked_by) == (LineType.UNKNOWN, "metadata")  # US numbering cannot tell
    assert not LookupUsage.objects.exists()


def test_the_simulated_provider_follows_its_rule(run_lookups, account, make_subscriber, rq_queues, settings,
                                                 django_capture_on_commit_callbacks):  # fmt: skip
    settings.LINE_TYPE_LOOKUP = "simulated"
    for phone in ("+12025550100", "+12025550109", "+12025550104"):
        make_subscriber(account, phone, State.OPTED_IN)
    with django_capture_on_commit_callbacks(execute=True):
        lookups.lookup_run_start(account=account)
    run_lookups()
    assert _lines(account) == {"+12025550100": "landline", "+12025550109": "voip", "+12025550104": "mobile"}
    assert LookupUsage.objects.get(account=account).lookups == 3


def test_one_account_is_never_looked_up_for_another(
    run_lookups, account, other_account, make_subscriber, rq_queues, django_capture_on_commit_callbacks
):
    make_subscriber(account, PHONES[0], State.OPTED_IN)
    make_subscriber(other_account, PHONES[1], State.OPTED_IN)
    with django_capture_on_commit_callbacks(execute=True):
        lookups.lookup_run_start(account=account)
    run_lookups()
    assert [phone for phone, _ in Carrier.calls] == [PHONES[0]]
    assert not NumberLine.objects.filter(account=other_account).exists()


def test_a_pass_whose_worker_died_is_failed_by_the_next_one(account, make_subscriber, run_lookups, settings,
                                                            django_capture_on_commit_callbacks):  # fmt: skip
    make_subscriber(account, PHONES[0], State.OPTED_IN)
    long_ago = timezone.now() - timedelta(seconds=settings.LINE_TYPE_LOOKUP_LOCK_SECONDS + 60)
    dead = LookupRun.objects.create(account=account, provider="twilio", stage=JobStage.RUNNING, updated_at=long_ago)
    busy = LookupRun.objects.create(account=account, provider="twilio", stage=JobStage.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        lookups.lookup_run_start(account=account)
    dead.refresh_from_db()
    busy.refresh_from_db()
    assert dead.stage == JobStage.FAILED and "worker running it stopped" in dead.error
    assert busy.stage == JobStage.RUNNING  # still being written: left alone
