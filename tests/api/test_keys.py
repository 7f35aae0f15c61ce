"""API keys: made by managers, shown once, stored hashed, revocable, recording their last use."""

import io

import pytest
import redis
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from api import gate, services
from api.gate import LAST_USED_PRECISION, KeyIdentity, gate_pass
from api.models import ApiKey
from tests.api.conftest import ApiClient, assert_error


def test_it_stores_only_a_keyed_hash_of_a_new_key(account, manager):
    api_key, token = services.api_key_create(account=account, name="CIS sync", created_by=manager)

    stored = ApiKey.objects.get(pk=api_key.pk)
    assert token.startswith("amk_") and len(token) >= 36
    assert token not in (stored.digest, stored.prefix, stored.name)
    assert token.startswith(stored.prefix)
    assert len(stored.digest) == 64
    assert services.api_key_authenticate(token=token) == stored


def test_it_refuses_a_key_without_a_name(account):
    with pytest.raises(services.ServiceError) as refused:
        services.api_key_create(account=account, name="   ")
    assert refused.value.field == "name"


def test_it_answers_401_for_a_missing_a_wrong_or_a_malformed_key(client, api_key):
    for headers in ({}, {"Authorization": "Bearer amk_not-a-real-key"}, {"Authorization": "Basic dXNlcjpwdw=="},
                    {"Authorization": f"Bearer {api_key.token}x"}, {"Authorization": "Bearer"}):  # fmt: skip
        response = client.get("/api/v1/subscribers", headers=headers)
        assert_error(response, 401, "unauthorized", "Authorization")
        assert response["WWW-Authenticate"] == "Bearer"


def test_it_answers_401_once_a_key_is_revoked(client, api_key, manager):
    api = ApiClient(client, api_key.token)
    assert api.get("/subscribers").status_code == 200

    services.api_key_revoke(api_key=api_key, revoked_by=manager)

    assert_error(api.get("/subscribers"), 401, "unauthorized")
    api_key.refresh_from_db()
    assert api_key.revoked_by == manager and api_key.revoked_at is not None


def test_it_records_when_a_key_was_last_used_without_writing_on_every_request(api, api_key):
    assert api_key.last_used_at is None
    api.get("/subscribers")
    api_key.refresh_from_db()
    first = api_key.last_used_at
    assert first is not None

    api.get("/subscribers")
    api_key.refresh_from_db()
    assert api_key.last_used_at == first  # within the minute: not written again

    # A minute later (its marker in Redis lapsed) the next request records its use again.
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=first - LAST_USED_PRECISION)
    redis.Redis.from_url(settings.REDIS_URL).delete(f"am:api:used:{api_key.digest}")
    api.get("/subscribers")
    api_key.refresh_from_db()
    assert api_key.last_used_at > first - LAST_USED_PRECISION


def test_it_records_a_use_once_a_minute_for_every_process_together(api, api_key):
    api.get("/subscribers")
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=None)

    # Another process within the same minute: the marker in Redis is shared, so it does not write either.
    services.api_key_admit(token=api_key.token)
    api.get("/subscribers")

    api_key.refresh_from_db()
    assert api_key.last_used_at is None


def test_a_known_key_is_let_in_without_reading_the_database(api, django_assert_num_queries):
    assert api.get("/subscribers/+12025550173").status_code == 404  # the key is now known to Redis

    # The number, nothing else: no key lookup, no last-use write within the minute.
    with django_assert_num_queries(1):
        assert api.get("/subscribers/+12025550173").status_code == 404


def test_a_revoked_key_is_refused_right_after_it_was_used(client, api_key, manager):
    api = ApiClient(client, api_key.token)
    assert api.get("/subscribers").status_code == 200
    assert redis.Redis.from_url(settings.REDIS_URL).exists(f"am:api:key:{api_key.digest}")

    services.api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk), revoked_by=manager)

    assert_error(api.get("/subscribers"), 401, "unauthorized")
    assert_error(api.get("/subscribers"), 401, "unauthorized")


def test_a_request_that_read_the_key_before_it_was_revoked_cannot_make_it_known_again(api, api_key):
    identity = KeyIdentity(api_key.pk, api_key.account_id, api_key.name)
    services.api_key_revoke(api_key=ApiKey.objects.get(pk=api_key.pk))

    # That request found the key active in the database and hands its identity to Redis after the revocation.
    assert gate_pass(digest=api_key.digest, identity=identity) is not None

    assert gate_pass(digest=api_key.digest) is None  # not remembered: the next request reads the database
    assert_error(api.get("/subscribers"), 401, "unauthorized")


def test_a_deleted_key_is_refused_at_once(api, api_key, account):
    assert api.get("/subscribers").status_code == 200

    ApiKey.objects.get(pk=api_key.pk).delete()
    assert_error(api.get("/subscribers"), 401, "unauthorized")


def test_the_keys_of_a_deleted_account_are_refused_at_once(api, account):
    assert api.get("/subscribers").status_code == 200

    account.delete()
    assert_error(api.get("/subscribers"), 401, "unauthorized")


def test_keys_still_work_without_redis_only_uncounted(api, api_key, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    gate._local.__dict__.clear()  # this thread's client was made for the old address
    try:
        settings.API_RATE_LIMIT = 1
        settings.API_RATE_BURST = 1
        assert [api.get("/subscribers").status_code for _ in range(3)] == [200, 200, 200]
    finally:
        gate._local.__dict__.clear()


def test_the_command_prints_a_working_key(client, account):
    out = io.StringIO()
    call_command("create_api_key", account.slug, "--name", "Outage system", stdout=out, stderr=io.StringIO())

    token = out.getvalue().strip()
    assert ApiKey.objects.get(account=account).name == "Outage system"
    assert ApiClient(client, token).get("/subscribers").status_code == 200


def test_the_command_refuses_an_unknown_account(db):
    with pytest.raises(CommandError, match="No account"):
        call_command("create_api_key", "nowhere", stdout=io.StringIO())


def test_a_manager_creates_a_key_and_sees_it_only_once(manager_client, account):
    response = manager_client.post("/settings/api-keys/", {"name": "CIS nightly sync"}, follow=True)

    assert response.redirect_chain == [("/settings/api-keys/", 302)]
    api_key = ApiKey.objects.get(account=account)
    token = response.context["new_key"]
    assert services.api_key_authenticate(token=token) == api_key
    assert token in response.content.decode()
    assert "It will not be shown again" in response.content.decode()
    assert response["Cache-Control"] == "no-store"

    listing = manager_client.get("/settings/api-keys/").content.decode()
    assert "CIS nightly sync" in listing and ">Active</span>" in listing
    assert api_key.prefix in listing
    assert token not in listing


def test_a_manager_gets_a_message_for_a_key_without_a_name(manager_client, account):
    response = manager_client.post("/settings/api-keys/", {"name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ApiKey.objects.exists()


def test_a_manager_lists_only_their_own_accounts_keys(manager_client, api_key, other_api_key):
    page = manager_client.get("/settings/api-keys/").content.decode()
    assert api_key.name in page
    assert other_api_key.name not in page


def test_a_manager_revokes_a_key_after_confirming(manager_client, api_key, manager):
    confirm = manager_client.get(f"/settings/api-keys/{api_key.pk}/revoke/")
    assert confirm.status_code == 200
    assert "Revoke the key" in confirm.content.decode()
    api_key.refresh_from_db()
    assert api_key.revoked_at is None

    response = manager_client.post(f"/settings/api-keys/{api_key.pk}/revoke/", follow=True)

    api_key.refresh_from_db()
    assert api_key.revoked_at is not None and api_key.revoked_by == manager
    assert "revoked" in response.content.decode()
    assert services.api_key_authenticate(token=api_key.token) is None


def test_a_manager_cannot_revoke_another_accounts_key(manager_client, other_api_key):
    assert manager_client.post(f"/settings/api-keys/{other_api_key.pk}/revoke/").status_code == 404
    other_api_key.refresh_from_db()
    assert other_api_key.revoked_at is None


def test_an_uploader_may_not_see_or_revoke_keys(uploader_client, api_key):
    assert uploader_client.get("/settings/api-keys/").status_code == 403
    assert uploader_client.post("/settings/api-keys/", {"name": "sneaky"}).status_code == 403
    assert uploader_client.post(f"/settings/api-keys/{api_key.pk}/revoke/").status_code == 403
    api_key.refresh_from_db()
    assert api_key.revoked_at is None and ApiKey.objects.count() == 1


def test_the_settings_menu_links_to_the_keys_page(manager_client):
    page = manager_client.get("/dashboard/").content.decode()
    assert 'href="/settings/api-keys/"' in page


def test_times_on_the_keys_page_are_in_the_accounts_time_zone(manager_client, api_key):
    api_key.created_at = timezone.datetime(2026, 7, 1, 17, 0, tzinfo=timezone.UTC)
    api_key.save()
    page = manager_client.get("/settings/api-keys/").content.decode()
    assert "Jul 1, 2026, 12:00 p.m. CDT" in page or "Jul 1, 2026, 12:00 PM CDT" in page or "12:00 p.m. CDT" in page
