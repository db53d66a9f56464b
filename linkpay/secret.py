"""Link secrets: generated with 256 bits of entropy, stored only as a SHA-256 hash, compared in
constant time. The plaintext is never written to the database, a log line or an error message.

Spoke-generated secrets are `0x` + 64 hex digits, the shape the Connext client's
`generateSecret()` produces and the only shape its `redeem(secret)` accepts."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any

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


_SCRUBBED_KEY = "secret"
_MIN_SCRUBBED_LENGTH = 16  # shorter "secrets" are refused anyway; scrubbing them would eat the request


def secrets_scrub(value: Any) -> tuple[Any, list[str]]:
    """`value` (parsed JSON from a request) without any link secret, and the secrets removed.

    A secret is the value of a `secret` key at any depth (payment meta, purchase meta, nested
    objects: wallets differ in where they put it). Once known, it is also removed from every other
    string that contains it, in any case and with or without `0x`. What is returned may be stored,
    logged and echoed; the secrets only hashed."""
    found: list[str] = []

    def collect(node: Any) -> Any:
        if isinstance(node, Mapping):
            kept = {}
            for key, item in node.items():
                if isinstance(key, str) and key.lower() == _SCRUBBED_KEY:
                    if isinstance(item, str):
                        found.append(item)
                    continue
                kept[key] = collect(item)
            return kept
        if isinstance(node, list):
            return [collect(item) for item in node]
        return node

    cleaned = collect(value)
    needles = {v.lower() for s in found for v in _variants(s) if len(v) >= _MIN_SCRUBBED_LENGTH}
    if not needles:
        return cleaned, found

    def leaks(text: str) -> bool:
        lowered = text.lower()
        return any(needle in lowered for needle in needles)

    def drop(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {k: drop(v) for k, v in node.items()
                    if not (isinstance(k, str) and leaks(k)) and not (isinstance(v, str) and leaks(v))}
        if isinstance(node, list):
            return [drop(item) for item in node if not (isinstance(item, str) and leaks(item))]
        return node

    return drop(cleaned), found


def _variants(secret: str) -> set[str]:
    text = secret.strip()
    return {text, text[2:]} if _HEX.fullmatch(text) else {text}
