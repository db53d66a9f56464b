"""The webhook signature: `Spoke-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>`,
one `v1` per active secret (two during a rotation). See payments/webhooks/README.md."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Spoke-Signature"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_hex(24)


def sign(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(body: bytes, secrets_: list[str], timestamp: int) -> str:
    return ",".join([f"t={timestamp}", *(f"v1={sign(body, s, timestamp)}" for s in secrets_)])
