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


def verified_login(client, user):
    """Log `user` in on the Django test client with both factors, as if they had typed a password and a code.

    Every login needs a second factor (people.middleware): a session that only passed the password is sent to the
    code step, so `client.force_login(user)` alone opens no page. Use this instead, or call it right after
    `client.force_login(user)`: it gives the user a confirmed authenticator if they have none and marks the session
    verified by it, the way django_otp.login() does after a right code. Also the `verified_login` fixture."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if client.session.get("_auth_user_id") != str(user.pk):
        client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Test authenticator", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


@pytest.fixture(name="verified_login")
def verified_login_fixture(db):
    """`verified_login(client, user)`: see the function of that name above."""
    return verified_login


@pytest.fixture
def manager_client(client, manager):
    return verified_login(client, manager)


@pytest.fixture
def uploader_client(client, uploader):
    return verified_login(client, uploader)


@pytest.fixture
def other_client(client, other_manager):
    return verified_login(client, other_manager)


@pytest.fixture(autouse=True)
def _login_locks_cleared(settings):
    """Every test starts with no failed logins counted: the lockout lives in Redis, outside the test database."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter("am:login-*"):
        client.delete(key)
    yield


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
