import pytest
import redis
from django.conf import settings as django_settings

from api import services


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    # The users these tests log in with need no slow password hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_rate_counts():
    """Rate-limit counts, remembered keys and last-use markers live in Redis and outlast a test's
    database; start every test without them."""
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    for key in client.scan_iter("am:api:*"):
        client.delete(key)
    yield


@pytest.fixture
def api_key(account, manager):
    api_key, token = services.api_key_create(account=account, name="CIS sync", created_by=manager)
    api_key.token = token
    return api_key


@pytest.fixture
def other_api_key(other_account):
    api_key, token = services.api_key_create(account=other_account, name="Riverbend sync")
    api_key.token = token
    return api_key


class ApiClient:
    """The Django test client speaking JSON with a bearer key."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.token = token

    def _headers(self, headers):
        result = dict(headers or {})
        if self.token is not None:
            result.setdefault("Authorization", f"Bearer {self.token}")
        return result

    def get(self, path, data=None, headers=None):
        return self.client.get(f"/api/v1{path}", data, headers=self._headers(headers))

    def post(self, path, json=None, headers=None):
        if json is None:
            return self.client.post(f"/api/v1{path}", headers=self._headers(headers))
        return self.client.post(f"/api/v1{path}", json, content_type="application/json", headers=self._headers(headers))

    def put(self, path, json, headers=None):
        return self.client.put(f"/api/v1{path}", json, content_type="application/json", headers=self._headers(headers))

    def delete(self, path, headers=None):
        return self.client.delete(f"/api/v1{path}", headers=self._headers(headers))


@pytest.fixture
def api(client, api_key):
    return ApiClient(client, api_key.token)


@pytest.fixture
def other_api(client, other_api_key):
    return ApiClient(client, other_api_key.token)


@pytest.fixture
def anonymous_api(client):
    return ApiClient(client, None)


def assert_error(response, status: int, code: str, field=...):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail", "field"}
    assert body["error"] == code
    assert body["detail"] and body["detail"][-1] in ".!?”"
    if field is not ...:
        assert body["field"] == field
    return body
