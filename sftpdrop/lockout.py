"""The login lockout: too many failed SFTP logins from one address block it for a while.

Counters live in Redis so that they survive a restart of the SFTP server and are shared by several
servers. Times are passed in (seconds since the epoch) rather than read from Redis' own clock, so
the rules can be driven by an injected clock; Redis expiry only tidies up keys after the fact.
"""

import secrets
from dataclasses import dataclass

import redis
from django.conf import settings

_PREFIX = "am:sftp:"


@dataclass(frozen=True)
class Rules:
    failures: int
    window: int
    block: int

    @classmethod
    def from_settings(cls) -> "Rules":
        return cls(
            failures=settings.SFTP_LOCKOUT_FAILURES,
            window=settings.SFTP_LOCKOUT_WINDOW_SECONDS,
            block=settings.SFTP_LOCKOUT_BLOCK_SECONDS,
        )


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _failures_key(ip: str) -> str:
    return f"{_PREFIX}failures:{ip}"


def _block_key(ip: str) -> str:
    return f"{_PREFIX}block:{ip}"


def blocked_until(*, ip: str, now: float) -> float | None:
    """When the block on `ip` ends, or None if it is not blocked at `now`."""
    value = _client().get(_block_key(ip))
    if value is None:
        return None
    until = float(value)
    return until if until > now else None


def failure_record(*, ip: str, now: float, rules: Rules | None = None) -> float | None:
    """Count one failed login from `ip`; returns the end of the block if this failure caused one."""
    rules = rules or Rules.from_settings()
    client = _client()
    key = _failures_key(ip)
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
    pipe.set(_block_key(ip), repr(until), ex=rules.block + 60)
    # The block starts a fresh count: once it clears, the address gets its full number of tries.
    pipe.delete(key)
    pipe.execute()
    return until


def block_lift(*, ip: str) -> None:
    client = _client()
    client.delete(_block_key(ip), _failures_key(ip))
