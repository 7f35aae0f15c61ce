"""The per-key rate limit (shared through Redis) and the request body cap."""

import redis

from api.gate import KeyIdentity, gate_pass
from tests.api.conftest import ApiClient, assert_error

PHONE = "+12025550173"


def test_it_answers_429_with_retry_after_past_the_burst(api, settings):
    settings.API_RATE_LIMIT = 1
    settings.API_RATE_BURST = 3

    answers = [api.get("/subscribers").status_code for _ in range(3)]
    refused = api.get("/subscribers")

    assert answers == [200, 200, 200]
    body = assert_error(refused, 429, "rate_limited")
    assert "1 a second" in body["detail"]
    assert refused["Retry-After"] == "1"


def test_the_limit_is_per_key(api, other_api, settings):
    settings.API_RATE_LIMIT = 1
    settings.API_RATE_BURST = 1
    assert api.get("/subscribers").status_code == 200
    assert api.get("/subscribers").status_code == 429
    assert other_api.get("/subscribers").status_code == 200


def test_the_count_is_shared_by_every_process_through_redis(api, api_key, settings):
    settings.API_RATE_LIMIT = 1
    settings.API_RATE_BURST = 2
    # Another web process, with its own connection, spends the key's burst.
    identity = KeyIdentity(api_key.pk, api_key.account_id, api_key.name)
    assert gate_pass(digest=api_key.digest, identity=identity).wait is None
    assert gate_pass(digest=api_key.digest).wait is None
    assert redis.Redis.from_url(settings.REDIS_URL).exists(f"am:api:rate:{api_key.digest}")

    assert_error(api.get("/subscribers"), 429, "rate_limited")


def test_a_wrong_key_is_not_counted_against_a_real_one(client, api, settings):
    settings.API_RATE_LIMIT = 1
    settings.API_RATE_BURST = 1
    for _ in range(3):
        assert ApiClient(client, "amk_wrong").get("/subscribers").status_code == 401
    assert api.get("/subscribers").status_code == 200


def test_the_limit_can_be_turned_off(api, settings):
    settings.API_RATE_LIMIT = 0
    settings.API_RATE_BURST = 1
    assert {api.get("/subscribers").status_code for _ in range(5)} == {200}


def test_a_body_over_the_cap_gets_413_and_changes_nothing(api, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = api.post(f"/subscribers/{PHONE}/opt-in", {"tags": ["x" * 70] * 20})
    assert_error(response, 413, "too_large")
    assert api.get(f"/subscribers/{PHONE}").status_code == 404
    assert api.post(f"/subscribers/{PHONE}/opt-in", {"tags": ["x" * 70] * 5}).status_code == 200
