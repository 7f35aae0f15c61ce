"""One way to queue a job: after the transaction commits, scheduled jobs included, and never for a rollback."""

from datetime import UTC, datetime, timedelta

import django_rq
import pytest
from django.db import transaction
from rq.registry import ScheduledJobRegistry

from alertmanager.jobqueue import enqueue

pytestmark = pytest.mark.django_db(transaction=True)

JOB = "subscribers.jobs.figures_refresh"


@pytest.fixture(autouse=True)
def no_scheduled_jobs(rq_queues):
    """Other tests leave jobs scheduled for later; these count their own."""
    registry = ScheduledJobRegistry(queue=django_rq.get_queue("default"))
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)


def _waiting():
    return django_rq.get_queue("default").job_ids


def _scheduled():
    return ScheduledJobRegistry(queue=django_rq.get_queue("default")).get_job_ids()


@pytest.mark.parametrize(
    "when, queued",
    [
        ({}, _waiting),
        ({"after": timedelta(hours=1)}, _scheduled),
        ({"at": datetime(2099, 1, 1, tzinfo=UTC)}, _scheduled),
    ],
    ids=["now", "after", "at"],
)
def test_a_job_waits_for_the_commit(rq_queues, when, queued):
    with transaction.atomic():
        enqueue("default", JOB, 1, **when)
        assert queued() == []  # the row the job needs is not visible to a worker yet
    assert len(queued()) == 1


@pytest.mark.parametrize("when", [{}, {"after": timedelta(hours=1)}, {"at": datetime(2099, 1, 1, tzinfo=UTC)}])
def test_a_rolled_back_transaction_queues_nothing(rq_queues, when):
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue("default", JOB, 1, **when)
        raise RuntimeError("the save failed")
    assert _waiting() == [] and _scheduled() == []


def test_outside_a_transaction_the_job_is_queued_at_once_with_its_options(rq_queues):
    enqueue("default", JOB, 7, job_timeout=42)
    (job_id,) = _waiting()
    job = django_rq.get_queue("default").fetch_job(job_id)
    assert (job.func_name, job.args, job.timeout) == (JOB, (7,), 42)


def test_a_scheduled_job_runs_at_its_time(rq_queues):
    when = datetime(2099, 1, 1, 6, tzinfo=UTC)
    enqueue("default", JOB, 1, at=when)
    registry = ScheduledJobRegistry(queue=django_rq.get_queue("default"))
    (job_id,) = registry.get_job_ids()
    assert registry.get_scheduled_time(job_id) == when


def test_a_job_for_committed_rows_is_queued_at_once_and_a_dead_redis_says_so(rq_queues, settings):
    """The janitor re-queues committed runs from inside its own transaction and must know when Redis refuses."""
    with transaction.atomic():
        enqueue("default", JOB, 1, committed=True)
        assert len(_waiting()) == 1
    working = settings.RQ_QUEUES
    settings.RQ_QUEUES = {name: {**c, "URL": "redis://127.0.0.1:1/0"} for name, c in working.items()}
    try:
        with pytest.raises(Exception, match="onnect"), transaction.atomic():
            enqueue("default", JOB, 2, committed=True)
    finally:
        settings.RQ_QUEUES = working
