"""A per-key request rate limit counted in Redis, so that every web process shares one count.

The generic cell rate algorithm: each key has a "theoretical arrival time"; a request is let in
if that time is no further ahead than the burst allows. One Lua call per request, atomic in Redis,
using Redis' own clock so that web processes with drifting clocks agree.
"""

import logging
import threading

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if now < allow_at then
  return allow_at - now
end
redis.call('SET', KEYS[1], new_tat, 'PX', math.ceil(new_tat - now) + 1000)
return -1
"""

_local = threading.local()


def _script():
    script = getattr(_local, "script", None)
    if script is None:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        script = _local.script = client.register_script(_SCRIPT)
    return script


def rate_limit_wait(*, bucket: str) -> float | None:
    """Seconds to wait before this bucket may make another request, or None when it may go now."""
    rate = float(settings.API_RATE_LIMIT)
    if rate <= 0:
        return None
    burst = max(1, int(settings.API_RATE_BURST))
    interval_ms = max(1, round(1000 / rate))
    try:
        wait_ms = int(_script()(keys=[f"am:api:rate:{bucket}"], args=[interval_ms, burst]))
    except redis.RedisError:
        # Refusing every request because the counter is unreachable would stop opt-outs too.
        logger.warning("API rate limit not counted: Redis unreachable", exc_info=True)
        return None
    return None if wait_ms < 0 else wait_ms / 1000
