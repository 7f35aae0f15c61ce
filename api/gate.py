"""Each API request's one Redis call: who its key is, whether it is over its rate, whether its use is due
to be recorded.

Looking the key up in PostgreSQL on every request cost a read about a third of its time
(docs/benchmarks.md), so a key's identity (its id, its account's id and its name; nothing secret) is
kept in Redis under the key's digest for IDENTITY_TTL. Revoking or deleting a key replaces that entry
with a marker that sends every web process back to the database for FORGOTTEN_TTL, far longer than
the revocation takes to commit; and an entry is only written where there is none, so a request that
read the key just before it was revoked cannot put it back. A revoked key therefore gets 401 on the
next request, in every process.

The rate limit is the generic cell rate algorithm: each key has a "theoretical arrival time"; a
request is let in if that time is no further ahead than the burst allows. It runs in the same Lua
call, atomic in Redis and on Redis' own clock, so web processes with drifting clocks agree.
"""

import threading
from dataclasses import dataclass
from datetime import timedelta

import redis
from django.conf import settings

IDENTITY_TTL = timedelta(seconds=30)
FORGOTTEN_TTL = timedelta(minutes=10)
# Touching the key row on every request would turn each read into a write; a minute is precise enough.
LAST_USED_PRECISION = timedelta(minutes=1)
_FORGOTTEN = "forgotten"

# KEYS: the identity, the rate count, the last-use marker.
# ARGV: the identity read from the database ('' when not yet read), its lifetime in ms, the rate
# interval in ms (0: no limit), the burst, the last-use precision in ms.
# Returns {identity, ms to wait or -1, 1 when the last use is due to be recorded}; identity '' means
# "not known here: read the key from the database and call again with it".
_SCRIPT = """
local identity = redis.call('GET', KEYS[1])
if not identity or identity == 'forgotten' then
  if ARGV[1] == '' then return {'', -1, 0} end
  if not identity then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
  identity = ARGV[1]
end
local interval = tonumber(ARGV[3])
if interval > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local burst = tonumber(ARGV[4])
  local tat = tonumber(redis.call('GET', KEYS[2]) or now)
  if tat < now then tat = now end
  local new_tat = tat + interval
  local allow_at = new_tat - burst * interval
  if now < allow_at then
    return {identity, allow_at - now, 0}
  end
  redis.call('SET', KEYS[2], new_tat, 'PX', math.ceil(new_tat - now) + 1000)
end
local due = 0
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[5]) then due = 1 end
return {identity, -1, due}
"""

_local = threading.local()


@dataclass(frozen=True)
class KeyIdentity:
    key_id: int
    account_id: int
    name: str

    def dump(self) -> str:
        return f"{self.key_id}:{self.account_id}:{self.name}"

    @classmethod
    def load(cls, text: str) -> "KeyIdentity":
        key_id, account_id, name = text.split(":", 2)
        return cls(int(key_id), int(account_id), name)


@dataclass(frozen=True)
class Admission:
    identity: KeyIdentity
    wait: float | None  # seconds before the key may make another request; None: go now
    record_use: bool


def _client() -> redis.Redis:
    client = getattr(_local, "client", None)
    if client is None:
        client = _local.client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
    return client


def _script():
    script = getattr(_local, "script", None)
    if script is None:
        script = _local.script = _client().register_script(_SCRIPT)
    return script


def _keys(digest: str) -> list[str]:
    return [f"am:api:key:{digest}", f"am:api:rate:{digest}", f"am:api:used:{digest}"]


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


def gate_pass(*, digest: str, identity: KeyIdentity | None = None) -> Admission | None:
    """The key's identity as Redis knows it, its rate and whether its use is due to be recorded.

    None when Redis does not know the key (or was told to forget it): read it from the database and
    call again with `identity`. Raises redis.RedisError when Redis cannot be reached.
    """
    rate = float(settings.API_RATE_LIMIT)
    interval_ms = max(1, round(1000 / rate)) if rate > 0 else 0
    burst = max(1, int(settings.API_RATE_BURST))
    known, wait_ms, due = _script()(
        keys=_keys(digest),
        args=[identity.dump() if identity else "", _ms(IDENTITY_TTL), interval_ms, burst, _ms(LAST_USED_PRECISION)],
    )
    if not known:
        return None
    wait_ms = int(wait_ms)
    return Admission(KeyIdentity.load(known.decode()), None if wait_ms < 0 else wait_ms / 1000, bool(due))


def gate_forget(*, digest: str) -> None:
    """Stop every process from letting this key in on what Redis remembers. Raises redis.RedisError."""
    _client().set(_keys(digest)[0], _FORGOTTEN, px=_ms(FORGOTTEN_TTL))
