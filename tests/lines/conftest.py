import pytest

from tests.lines.carriers import Carrier, ReassignedDatabase

CARRIER = "tests.lines.carriers.Carrier"
RND = "tests.lines.carriers.ReassignedDatabase"


@pytest.fixture(autouse=True)
def line_settings(settings):
    settings.LINE_TYPE_LOOKUP = CARRIER
    settings.LINE_TYPE_LOOKUP_RATE = 0
    settings.LINE_TYPE_LOOKUP_CONCURRENCY = 0
    settings.LINE_TYPE_LOOKUP_BACKOFF = 0.01
    settings.LINE_TYPE_LOOKUP_RETRIES = 3
    settings.LINE_TYPE_LOOKUP_WAIT_SECONDS = 0.1
    settings.LINE_TYPE_SIMULATED_DELAY = 0
    settings.REASSIGNED_NUMBERS_CHECKER = RND
    Carrier.reset()
    ReassignedDatabase.reset()
    yield settings
    Carrier.reset()
    ReassignedDatabase.reset()


@pytest.fixture
def run_lookups(rq_queues, django_capture_on_commit_callbacks):
    """Run the `lookups` queue with a real worker until it is empty. Each batch queues the next on commit, which
    the test's own transaction would otherwise hold back."""
    from tests.conftest import run_worker

    def run(queue: str = "lookups") -> None:
        for _ in range(1000):
            with django_capture_on_commit_callbacks(execute=True) as queued:
                run_worker(queue)
            if not queued:
                return
        raise AssertionError("the lookups never finished")

    return run
