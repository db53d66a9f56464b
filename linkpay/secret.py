"""Link secrets: generated with 256 bits of entropy, stored only as a SHA-256 hash, compared in
constant time. The plaintext is never written to the database, a log line or an error message.

Spoke-generated secrets are `0x` + 64 hex digits, the shape the Connext client's
`generateSecret()` produces and the only shape its `redeem(secret)` accepts."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

MIN_SECRET_LENGTH = 32  # >= 128 bits for hex; client-chosen secrets shorter than this are refused
MAX_SECRET_LENGTH = 256
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_PRINTABLE = re.compile(r"[\x21-\x7e]+")


def secret_new() -> str:
    return "0x" + secrets.token_hex(32)


def secret_normalize(secret: str) -> str:
    """Hex secrets are case-insensitive (wallets may upper-case them); others are taken as is."""
    text = secret.strip()
    return text.lower() if _HEX.fullmatch(text) else text


def secret_acceptable(secret: object) -> bool:
    """A secret a client may choose: printable ASCII, 32..256 characters (hex: >= 128 bits)."""
    if not isinstance(secret, str):
        return False
    text = secret.strip()
    if not MIN_SECRET_LENGTH <= len(text) <= MAX_SECRET_LENGTH or not _PRINTABLE.fullmatch(text):
        return False
    return not (_HEX.fullmatch(text) and len(text) - 2 < MIN_SECRET_LENGTH)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret_normalize(secret).encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(secret_hash(secret), stored_hash)
