"""verify_webhook: Spoke-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from spoke_client import WebhookVerificationError, verify_webhook

BODY = b'{"id":"evt_1","type":"payment.succeeded","data":{"amount":"1000"}}'
SECRET = "whsec_current"
OLD_SECRET = "whsec_previous"
T = 1_700_000_000


def v1(secret: str, body: bytes = BODY, t: int = T) -> str:
    # independent of the SDK's own signer, from the header's definition
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_a_valid_signature_is_accepted_and_returns_the_timestamp() -> None:
    assert verify_webhook(BODY, f"t={T},v1={v1(SECRET)}", [SECRET], now=T + 10) == T


def test_a_tampered_body_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_webhook(BODY.replace(b"1000", b"9000"), f"t={T},v1={v1(SECRET)}", [SECRET], now=T)


def test_a_signature_made_with_another_secret_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_webhook(BODY, f"t={T},v1={v1('whsec_attacker')}", [SECRET], now=T)


def test_a_timestamp_older_than_300_seconds_is_rejected() -> None:
    header = f"t={T},v1={v1(SECRET)}"
    assert verify_webhook(BODY, header, [SECRET], now=T + 300) == T
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_webhook(BODY, header, [SECRET], now=T + 301)


def test_a_timestamp_far_in_the_future_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_webhook(BODY, f"t={T + 301},v1={v1(SECRET, t=T + 301)}", [SECRET], now=T)


def test_the_timestamp_is_covered_by_the_signature() -> None:
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_webhook(BODY, f"t={T + 5},v1={v1(SECRET)}", [SECRET], now=T)


def test_during_rotation_a_header_signed_with_both_secrets_verifies_with_either() -> None:
    header = f"t={T},v1={v1(OLD_SECRET)},v1={v1(SECRET)}"
    assert verify_webhook(BODY, header, [SECRET], now=T) == T
    assert verify_webhook(BODY, header, [OLD_SECRET], now=T) == T
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, header, ["whsec_other"], now=T)


def test_during_rotation_the_receiver_accepts_old_and_new_secret() -> None:
    assert verify_webhook(BODY, f"t={T},v1={v1(OLD_SECRET)}", [SECRET, OLD_SECRET], now=T) == T


@pytest.mark.parametrize("header", ["", "v1=abcd", f"t={T}", f"t=soon,v1={v1(SECRET)}", "garbage"])
def test_malformed_headers_are_rejected(header: str) -> None:
    with pytest.raises(WebhookVerificationError):
        verify_webhook(BODY, header, [SECRET], now=T)
