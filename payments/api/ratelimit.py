"""Per-API-key rate limit: a Redis token bucket (API_RATE_PER_SECOND, burst API_RATE_BURST).
Over the limit: 429 with Retry-After. If Redis is unreachable the request is let through (the
limit protects capacity; refusing all traffic would be worse)."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import redis
from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from payments import conf

logger = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV rate, burst. Uses the server clock so all web processes agree.
_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local data = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(data[1]) or burst
local ts = tonumber(data[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local wait = 0
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1)
return {allowed, tostring(wait)}
"""


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)


def take_token(bucket: str, *, rate: float, burst: int) -> tuple[bool, float]:
    """(allowed, seconds to wait) for one request against `bucket`."""
    try:
        allowed, wait = _client(settings.REDIS_URL).eval(_BUCKET, 1, f"spoke:ratelimit:{bucket}", rate, burst)
    except redis.RedisError:
        logger.warning("rate limiter unavailable; letting the request through", exc_info=True)
        return True, 0.0
    return bool(int(allowed)), float(wait)


class ApiKeyRateThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        key = request.auth
        if key is None:
            return True
        allowed, self._wait = take_token(f"apikey:{key.pk}", rate=conf.API_RATE_PER_SECOND,
                                         burst=conf.API_RATE_BURST)
        return allowed

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)
