"""Nonce/signature authentication for the protocol API (the Connext v1 scheme).

`GET nonce` (header `x-address`) returns a fresh random nonce bound to that address, replacing any
earlier one; later requests carry `x-address`, `x-nonce` and `x-signature` (a personal-message
signature over the nonce string). A nonce lives at most 2 hours. Verified signatures are cached
for the nonce's life so the hot path does not repeat the ecrecover."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import coincurve
from django.conf import settings
from django.core.cache import cache
from eth_utils.crypto import keccak

from hub.core.signing import SECP256K1_N, address_from_public_key
from hub.core.state import parse_address

NONCE_TTL_SECONDS = 2 * 60 * 60
_HALF_N = SECP256K1_N // 2


class AuthFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _nonce_key(address: str) -> str:
    return f"hubauth:nonce:{address}"


def _verified_key(address: str, nonce: str, signature: str) -> str:
    digest = hashlib.sha256(f"{address}|{nonce}|{signature}".encode()).hexdigest()
    return f"hubauth:ok:{digest}"


def now() -> float:
    """The clock nonces are judged by (tests replace it)."""
    return time.time()


def issue_nonce(address: str) -> str:
    """A new nonce for `address`; any earlier nonce stops working."""
    user = parse_address(address, "x-address")
    nonce = secrets.token_hex(32)
    cache.set(_nonce_key(user), f"{nonce}|{int(now())}", NONCE_TTL_SECONDS)
    return nonce


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
    ok_key = _verified_key(user, nonce, signature)
    found = cache.get_many([_nonce_key(user), ok_key])  # one round trip on the hot path
    stored = str(found.get(_nonce_key(user)) or "|0")
    expected, _, issued_at = stored.partition("|")
    if not expected or not hmac.compare_digest(expected, nonce):
        raise AuthFailed("nonce_invalid", "the nonce is unknown, expired or replaced")
    if now() - int(issued_at or 0) > NONCE_TTL_SECONDS:
        raise AuthFailed("nonce_expired", "the nonce is older than 2 hours; ask for a new one")
    if found.get(ok_key):
        return user
    if recover_text_signer(nonce, signature) != user:
        raise AuthFailed("bad_signature", "x-signature was not made by x-address")
    cache.set(ok_key, 1, NONCE_TTL_SECONDS)
    return user


def is_operator(address: str) -> bool:
    return address.lower() in {a.lower() for a in getattr(settings, "HUB_OPERATOR_ADDRESSES", [])}
