"""Link secrets: entropy, hashing, what a client may choose; and the secret scan itself."""

from __future__ import annotations

import hashlib
import logging
import secrets

import pytest

from linkpay.secret import secret_acceptable, secret_hash, secret_matches, secret_new
from tests.linkpay import secret_scan


def test_generated_secrets_have_256_bits_and_the_connext_shape() -> None:
    made = {secret_new() for _ in range(1000)}
    assert len(made) == 1000
    for secret in made:
        assert secret.startswith("0x") and len(secret) == 66
        int(secret, 16)


def test_only_the_sha256_of_the_normalized_secret_is_kept() -> None:
    secret = secret_new()
    assert secret_hash(secret) == hashlib.sha256(secret.encode()).hexdigest()
    assert secret_hash(secret.upper().replace("0X", "0x")) == secret_hash(secret)
    assert secret_matches(secret, secret_hash(secret))
    assert not secret_matches(secret[:-1] + ("0" if secret[-1] != "0" else "1"), secret_hash(secret))


@pytest.mark.parametrize(("candidate", "ok"), [
    ("0x" + "ab" * 16, True),  # 128 bits
    ("0x" + "ab" * 15, False),  # 120 bits
    ("x" * 32, True),
    ("x" * 31, False),
    ("x" * 257, False),
    ("has a space inside it, which is refused", False),
    (None, False),
    (12345, False),
])
def test_client_chosen_secrets_need_at_least_128_bits(candidate: object, ok: bool) -> None:
    assert secret_acceptable(candidate) is ok


@pytest.mark.django_db
def test_the_secret_scan_finds_a_planted_secret_in_any_column_and_in_logs() -> None:
    from hub.ledger.services import post

    planted = "0x" + secrets.token_hex(32)  # deliberately not registered
    post([("test:a", "wei", 1), ("test:b", "wei", -1)], memo=f"memo {planted[2:].upper()}")
    assert secret_scan.scan_database([planted]) == ["hub_ledgerentry.memo"]
    assert secret_scan.scan_database([secret_new()]) == []
    logging.getLogger("linkpay.selfcheck").warning("planted %s", planted)
    assert len(secret_scan.scan_logs([planted])) == 1
