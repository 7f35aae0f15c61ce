import django_rq
import pytest
from django.contrib.auth import get_user_model

from subscribers.models import Account, Membership, Role, Subscriber
from subscribers.transitions import State


@pytest.fixture
def account(db):
    return Account.objects.create(slug="lakeside", name="Lakeside Electric Cooperative", time_zone="America/Chicago")


@pytest.fixture
def other_account(db):
    return Account.objects.create(slug="riverbend", name="Riverbend Water", time_zone="America/New_York")


def _member(account, username, role):
    user = get_user_model().objects.create_user(username=username, password="pw-for-tests-123")
    Membership.objects.create(user=user, account=account, role=role)
    return user


@pytest.fixture
def manager(account):
    return _member(account, "manager", Role.MANAGER)


@pytest.fixture
def uploader(account):
    return _member(account, "uploader", Role.UPLOADER)


@pytest.fixture
def other_manager(other_account):
    return _member(other_account, "other-manager", Role.MANAGER)


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def uploader_client(client, uploader):
    client.force_login(uploader)
    return client


@pytest.fixture
def other_client(client, other_manager):
    client.force_login(other_manager)
    return client


@pytest.fixture
def make_subscriber():
    """A number already in a given state, as the starting point of a rule's test."""

    def make(account, phone, state: State, tags=()):
        from subscribers.services import tags_get_or_create

        if state is State.NONE:
            return None
        subscriber = Subscriber.objects.create(
            account=account, phone=phone, status=state.status, opted_out_by=state.opted_out_by
        )
        subscriber.tags.set(tags_get_or_create(account=account, names=tags))
        return subscriber

    return make


@pytest.fixture
def rq_queues(settings):
    """Empty RQ queues on the real Redis; tests run the work with a real worker in burst mode."""
    for name in settings.RQ_QUEUES:
        queue = django_rq.get_queue(name)
        queue.empty()
    yield
    for name in settings.RQ_QUEUES:
        django_rq.get_queue(name).empty()


def run_worker(*queues: str) -> None:
    """Run a real RQ worker in burst mode until the queues are empty.

    A SimpleWorker runs each job in this process, so it sees the test's own (uncommitted) data; tests that need
    a separate worker process start `manage.py rqworker` themselves."""
    from rq import SimpleWorker

    names = queues or ("default", "imports", "lookups")
    worker = django_rq.get_worker(*names, worker_class=SimpleWorker)
    worker.work(burst=True, with_scheduler=False)
