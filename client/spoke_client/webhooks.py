"""Verifying Spoke's webhook signatures on the merchant's side.

Header: ``Spoke-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
During a secret rotation the header carries one ``v1`` per active secret; any match is enough.
Verify the *raw* request body, before any JSON parsing or re-serialisation.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence

from .errors import WebhookVerificationError

SIGNATURE_HEADER = "Spoke-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def sign_webhook(payload: bytes, secret: str, timestamp: int) -> str:
    """The hex `v1` signature of `payload` at `timestamp` (what the hub sends)."""
    message = str(timestamp).encode("ascii") + b"." + payload
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def parse_signature_header(header: str) -> tuple[int, list[str]]:
    """(timestamp, [v1 signatures]); unknown schemes are ignored, as Stripe's verifiers do."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            if timestamp is not None or not value.isdigit():
                raise WebhookVerificationError("the signature header has a bad timestamp")
            timestamp = int(value)
        elif key == "v1" and value:
            signatures.append(value.lower())
    if timestamp is None:
        raise WebhookVerificationError("the signature header has no timestamp")
    if not signatures:
        raise WebhookVerificationError("the signature header has no v1 signature")
    return timestamp, signatures


def verify_webhook(
    payload: bytes,
    header: str,
    secrets: Sequence[str],
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: int | None = None,
) -> int:
    """Check a webhook delivery; returns its timestamp, raises WebhookVerificationError.

    payload: the raw body bytes. header: the `Spoke-Signature` value. secrets: every secret
    currently valid for the endpoint (two during a rotation). tolerance: the largest accepted
    distance in seconds between the timestamp and `now` (replay window). Comparisons are
    constant-time.
    """
    if not header:
        raise WebhookVerificationError("missing Spoke-Signature header")
    if not secrets:
        raise WebhookVerificationError("no webhook secret configured")
    timestamp, signatures = parse_signature_header(header)
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > tolerance:
        raise WebhookVerificationError(
            f"timestamp {timestamp} is outside the {tolerance} s tolerance (now {current})"
        )
    matched = False
    for secret in secrets:
        expected = sign_webhook(payload, secret, timestamp)
        for candidate in signatures:
            # no early exit: every pair is compared, in constant time
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise WebhookVerificationError("no signature matches the payload")
    return timestamp
