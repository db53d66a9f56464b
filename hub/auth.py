"""Nonce/signature authentication for the protocol API (the Connext v1 scheme).

`GET nonce` (header `x-address`) returns a fresh random nonce bound to that address; later requests
carry `x-address`, `x-nonce` and `x-signature` (a personal-message signature over the nonce string).

`GET nonce` needs no authentication, so anyone can ask for a nonce for any address: it must not
touch that address's sessions. Issued nonces therefore wait in a pending set of their own (per
address: at most PENDING_NONCES_MAX, the oldest dropped first, each for PENDING_NONCE_TTL_SECONDS).
The first request with a valid signature over a pending nonce consumes it and opens a session keyed
by that nonce; the session lives 2 hours from the nonce's issue and ends no other session (a user
may be signed in from several devices). Verified signatures are cached for the session's life so
the hot path does not repeat the ecrecover, and each process remembers the sessions it verified
so the hot path does not ask Redis again either."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from functools import lru_cache

import coincurve
import redis
from django.conf import settings
from django.core.cache import cache
from eth_utils.crypto import keccak

from hub.core.signing import SECP256K1_N, address_from_public_key
from hub.core.state import parse_address

NONCE_TTL_SECONDS = 2 * 60 * 60  # a session's life, counted from its nonce's issue
PENDING_NONCE_TTL_SECONDS = 5 * 60  # time to sign a fresh nonce and make the first request
PENDING_NONCES_MAX = 16  # per address; more requests drop the oldest pending one, never a session
_HALF_N = SECP256K1_N // 2


class AuthFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _session_key(address: str, nonce: str) -> str:
    digest = hashlib.sha256(nonce.encode()).hexdigest()
    return f"hubauth:session:{address}:{digest}"


def _pending_key(address: str) -> str:
    return f"spoke:hubauth:pending:{address}"


@lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _verified_key(address: str, nonce: str, signature: str) -> str:
    digest = hashlib.sha256(f"{address}|{nonce}|{signature}".encode()).hexdigest()
    return f"hubauth:ok:{digest}"


def now() -> float:
    """The clock nonces are judged by (tests replace it)."""
    return time.time()


def issue_nonce(address: str) -> str:
    """A new pending nonce for `address`. Sessions already open are left alone; of the pending
    nonces only the newest PENDING_NONCES_MAX survive."""
    user = parse_address(address, "x-address")
    nonce = secrets.token_hex(32)
    issued = now()
    pipe = _redis(settings.REDIS_URL).pipeline()
    key = _pending_key(user)
    pipe.zadd(key, {nonce: issued})
    pipe.zremrangebyscore(key, "-inf", issued - PENDING_NONCE_TTL_SECONDS)
    pipe.zremrangebyrank(key, 0, -PENDING_NONCES_MAX - 1)
    pipe.expire(key, PENDING_NONCE_TTL_SECONDS)
    pipe.execute()
    return nonce


# Sessions this process has verified: (address, nonce, signature) -> the nonce's issue time. A
# session is never ended early (it lives NONCE_TTL_SECONDS from its nonce's issue), so what was
# verified once holds until then and the hot path needs no Redis round trip to learn it again.
_VERIFIED: dict[tuple[str, str, str], float] = {}
_VERIFIED_MAX = 20_000
_verified_lock = threading.Lock()


def _remember(key: tuple[str, str, str], issued: float) -> None:
    with _verified_lock:
        if len(_VERIFIED) >= _VERIFIED_MAX:
            del _VERIFIED[next(iter(_VERIFIED))]  # the oldest remembered
        _VERIFIED[key] = issued


def _open_session(user: str, nonce: str, signature: str) -> float | None:
    """Turn a pending nonce signed by `user` into a session, or raise AuthFailed. Concurrent first
    requests with the same nonce all succeed: the session is written before the nonce leaves the
    pending set, and writing it twice writes the same value. Returns the nonce's issue time when
    this request opened the session (None when a concurrent first request did)."""
    pending = _redis(settings.REDIS_URL)
    issued = pending.zscore(_pending_key(user), nonce)
    if issued is None:
        # a concurrent first request may have consumed it a moment ago
        if cache.get(_session_key(user, nonce)) is not None:
            return None
        raise AuthFailed("nonce_invalid", "the nonce is unknown, expired or already replaced")
    if now() - issued > PENDING_NONCE_TTL_SECONDS:
        raise AuthFailed("nonce_expired", "the nonce was not used in time; ask for a new one")
    if recover_text_signer(nonce, signature) != user:
        raise AuthFailed("bad_signature", "x-signature was not made by x-address")
    cache.set(_session_key(user, nonce), int(issued), NONCE_TTL_SECONDS)
    cache.set(_verified_key(user, nonce, signature), 1, NONCE_TTL_SECONDS)
    pending.zrem(_pending_key(user), nonce)
    return float(int(issued))


def recover_text_signer(message: str, signature: str) -> str:
    """The address that personal-signed the UTF-8 text `message` (ethers `signMessage(string)`)."""
    raw_message = message.encode()
    digest = keccak(b"\x19Ethereum Signed Message:\n" + str(len(raw_message)).encode() + raw_message)
    try:
        raw = bytes.fromhex(signature.removeprefix("0x"))
    except ValueError:
        raise AuthFailed("bad_signature", "x-signature is not hex") from None
    if len(raw) != 65:
        raise AuthFailed("bad_signature", "x-signature is not 65 bytes")
    v = raw[64] - 27 if raw[64] >= 27 else raw[64]
    s = int.from_bytes(raw[32:64], "big")
    if v not in (0, 1) or not 0 < s <= _HALF_N:
        raise AuthFailed("bad_signature", "x-signature is malformed")
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(
            raw[:64] + bytes([v]), digest, hasher=None
        )
    except Exception:
        raise AuthFailed("bad_signature", "x-signature does not recover") from None
    return address_from_public_key(public_key)


def authenticate(address: str | None, nonce: str | None, signature: str | None) -> str:
    """The authenticated lower-case address, or AuthFailed (answered with 403 so the client
    re-authenticates)."""
    if not address or not nonce or not signature:
        raise AuthFailed("auth_required", "x-address, x-nonce and x-signature are required")
    try:
        user = parse_address(address, "x-address")
    except Exception:
        raise AuthFailed("bad_address", "x-address is not an address") from None
    if len(nonce) > 128:
        raise AuthFailed("nonce_invalid", "the nonce is unknown, expired or already replaced")
    remembered = (user, nonce, signature)
    issued = _VERIFIED.get(remembered)
    if issued is not None and now() - issued <= NONCE_TTL_SECONDS:
        return user  # the hot path: no round trip
    session_key, ok_key = _session_key(user, nonce), _verified_key(user, nonce, signature)
    found = cache.get_many([session_key, ok_key])  # one round trip
    issued_at = found.get(session_key)
    if issued_at is None:
        opened = _open_session(user, nonce, signature)
        if opened is not None:
            _remember(remembered, opened)
        return user
    if now() - int(issued_at) > NONCE_TTL_SECONDS:
        raise AuthFailed("nonce_expired", "the nonce is older than 2 hours; ask for a new one")
    if not found.get(ok_key):
        if recover_text_signer(nonce, signature) != user:
            raise AuthFailed("bad_signature", "x-signature was not made by x-address")
        cache.set(ok_key, 1, NONCE_TTL_SECONDS)
    _remember(remembered, float(int(issued_at)))
    return user


def is_operator(address: str) -> bool:
    return address.lower() in {a.lower() for a in getattr(settings, "HUB_OPERATOR_ADDRESSES", [])}
