import pytest
from django.core.cache import cache

from messaging import gateway
from subscribers.services import account_sender_add
from tests.api.conftest import ApiClient, api_key  # noqa: F401  (the API key fixture, shared)
from tests.imports.conftest import run_import  # noqa: F401  (imports through a real worker)
from tests.messaging.conftest import AUTH_TOKEN, SHORT_CODE
from tests.sftpdrop.conftest import (  # noqa: F401  (the SFTP drop's fixtures, for the drops of these tests)
    clock,
    credentials,
    drop_server,
    drop_settings,
    lockout_redis,
    ready_account,
    start_server,
)


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


@pytest.fixture
def sms(settings):
    """The memory gateway (the provider faked) and a known webhook token."""
    settings.SMS_GATEWAY = "memory"
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.SMS_PUBLIC_URL = ""
    settings.ALERT_RECHECK_SECONDS = 3600.0
    gateway.outbox.clear()
    gateway.on_send.clear()
    cache.clear()
    yield gateway
    gateway.outbox.clear()


@pytest.fixture
def sender(account):
    return account_sender_add(account=account, phone=SHORT_CODE)


@pytest.fixture
def api(client, api_key):  # noqa: F811
    return ApiClient(client, api_key.token)
