"""Failure counters and blocks in Redis: the SFTP drop's address lockout and the web login's username and address
lockouts use these same rules.

Counters live in Redis so that they survive a restart and are shared by every process. Times are passed in
(seconds since the epoch) rather than read from Redis' own clock, so the rules can be driven by an injected clock;
Redis expiry only tidies up keys after the fact.
"""

import secrets
from dataclasses import dataclass

import redis
from django.conf import settings


@dataclass(frozen=True)
class Rules:
    failures: int
    window: int
    block: int


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _failures_key(scope: str, subject: str) -> str:
    return f"am:{scope}:failures:{subject}"


def _block_key(scope: str, subject: str) -> str:
    return f"am:{scope}:block:{subject}"


def blocked_until(*, scope: str, subject: str, now: float) -> float | None:
    """When the block on `subject` ends, or None if it is not blocked at `now`."""
    value = _client().get(_block_key(scope, subject))
    if value is None:
        return None
    until = float(value)
    return until if until > now else None


def failure_record(*, scope: str, subject: str, now: float, rules: Rules) -> float | None:
    """Count one failure of `subject`; returns the end of the block if this failure caused one."""
    client = _client()
    key = _failures_key(scope, subject)
    pipe = client.pipeline()
    pipe.zadd(key, {f"{now:.6f}:{secrets.token_hex(4)}": now})
    pipe.zremrangebyscore(key, "-inf", now - rules.window)
    pipe.zcard(key)
    pipe.expire(key, rules.window + 60)
    _, _, count, _ = pipe.execute()
    if count < rules.failures:
        return None
    until = now + rules.block
    pipe = client.pipeline()
    pipe.set(_block_key(scope, subject), repr(until), ex=rules.block + 60)
    # The block starts a fresh count: once it clears, the subject gets its full number of tries.
    pipe.delete(key)
    pipe.execute()
    return until


def failures_clear(*, scope: str, subject: str) -> None:
    """Forget the failures counted so far (a successful login), leaving any block in place."""
    _client().delete(_failures_key(scope, subject))


def block_lift(*, scope: str, subject: str) -> None:
    _client().delete(_block_key(scope, subject), _failures_key(scope, subject))
