"""A sliding-window limit on failed redemption attempts, per client address and per IP.

Before a secret is evaluated, a slot is reserved in every bucket of the request (atomically, in
one Lua script); if any bucket already holds LINK_GUESS_LIMIT failures of the last window the
request is refused with the seconds until its oldest failure leaves the window, and nothing is
evaluated. A secret that names a link (whatever its status) is not a guess: its slot is given
back. So, even under concurrency, at most LINK_GUESS_LIMIT wrong secrets per window are ever
looked up for one address or IP. Redis unreachable: refuse (a guessing limit that fails open is
no limit)."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

from linkpay import conf
from linkpay.errors import LinkError, LinkRateLimited

logger = logging.getLogger(__name__)

# KEYS: buckets; ARGV: limit, window (ms), member. Uses the server clock so all web processes agree.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return {0, wait} end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, window)
end
return {1, 0}
"""


@lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _bucket(kind: str, value: str) -> str:
    # hashed: bucket names carry no addresses or IPs into Redis key listings
    return "spoke:linkguess:" + kind + ":" + hashlib.sha256(value.lower().encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Reservation:
    keys: tuple[str, ...]
    member: str

    def release(self) -> None:
        """The attempt named a real link: it does not count as a failure."""
        try:
            client = _client(settings.REDIS_URL)
            pipe = client.pipeline()
            for key in self.keys:
                pipe.zrem(key, self.member)
            pipe.execute()
        except redis.RedisError:
            logger.warning("could not release a link-guess reservation", exc_info=True)


def guess_reserve(*, address: str | None = None, ip: str | None = None) -> Reservation:
    """Reserve one failed-attempt slot for each given identity, or raise LinkRateLimited."""
    keys = tuple(_bucket(kind, value) for kind, value in (("addr", address), ("ip", ip)) if value)
    member = secrets.token_hex(8)
    if not keys:
        return Reservation((), member)
    try:
        allowed, wait_ms = _client(settings.REDIS_URL).eval(
            _RESERVE, len(keys), *keys, conf.LINK_GUESS_LIMIT,
            conf.LINK_GUESS_WINDOW_SECONDS * 1000, member)
    except redis.RedisError:
        logger.error("link guess limiter unavailable; refusing the redemption", exc_info=True)
        raise LinkError("rate_limiter_unavailable", "redemptions are unavailable, try again",
                        status=503) from None
    if not int(allowed):
        raise LinkRateLimited(max(1, -(-int(wait_ms) // 1000)))
    return Reservation(keys, member)


def guess_reset(identities: Sequence[tuple[str, str]]) -> None:
    """Forget the failures of these (kind, value) identities (tests and operators)."""
    client = _client(settings.REDIS_URL)
    for kind, value in identities:
        client.delete(_bucket(kind, value))
