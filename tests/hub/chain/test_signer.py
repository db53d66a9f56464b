"""The hub signer: loads from a key file or an encrypted keystore, and never shows its key."""

from __future__ import annotations

import json
import logging
import pickle
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils.crypto import keccak

from hub.chain import signer as signer_module
from hub.chain.signer import (
    SignerError,
    hub_address,
    hub_private_key,
    hub_signer,
    hub_signer_cache_clear,
    hub_state_signer,
)
from hub.core.signing import recover

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
KEY_HEX = KEY[2:]
ADDRESS = Account.from_key(KEY).address
PASSWORD = "correct horse battery staple"


@pytest.fixture
def keyed(settings: Any, tmp_path: Path) -> Iterator[Any]:
    settings.HUB_PRIVATE_KEY_FILE = None
    settings.HUB_KEYSTORE_FILE = None
    settings.HUB_KEYSTORE_PASSWORD_FILE = None
    hub_signer_cache_clear()
    yield settings
    hub_signer_cache_clear()


def key_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.key"
    path.write_text(text)
    return path


def keystore(tmp_path: Path, password: str = PASSWORD) -> tuple[Path, Path]:
    encrypted = Account.encrypt(KEY, password, kdf="pbkdf2", iterations=2)
    store = tmp_path / "keystore.json"
    store.write_text(json.dumps(encrypted))
    secret = tmp_path / "password"
    secret.write_text(password + "\n")
    return store, secret


def assert_hidden(text: str) -> None:
    assert KEY_HEX not in text.lower() and KEY_HEX.upper() not in text
    assert PASSWORD not in text


@pytest.mark.parametrize("content", [KEY, KEY_HEX, KEY + "\n", "  " + KEY_HEX.upper() + "\n"])
def test_signer_loads_from_a_key_file(keyed: Any, tmp_path: Path, content: str) -> None:
    keyed.HUB_PRIVATE_KEY_FILE = key_file(tmp_path, content)
    assert hub_address() == ADDRESS
    assert hub_private_key() == bytes.fromhex(KEY_HEX)
    assert hub_signer() is hub_signer()  # cached per process


def test_signer_loads_from_an_encrypted_keystore(keyed: Any, tmp_path: Path) -> None:
    keyed.HUB_KEYSTORE_FILE, keyed.HUB_KEYSTORE_PASSWORD_FILE = keystore(tmp_path)
    keyed.HUB_PRIVATE_KEY_FILE = key_file(tmp_path, "0x" + "11" * 32)  # the keystore wins
    assert hub_address() == ADDRESS


def test_signatures_recover_to_the_hub(keyed: Any, tmp_path: Path) -> None:
    keyed.HUB_PRIVATE_KEY_FILE = key_file(tmp_path, KEY)
    digest = keccak(b"state")
    raw = hub_signer().sign_raw_hash(digest)
    assert len(raw) == 65 and raw[64] in (27, 28)
    assert Account._recover_hash(digest, signature=raw) == ADDRESS
    # hub/core's personal-message signer is built from the same key.
    state_signer = hub_state_signer()
    assert state_signer.address == ADDRESS.lower()
    signature = state_signer.sign_hash("0x" + digest.hex())
    assert recover("0x" + digest.hex(), signature) == ADDRESS.lower()
    assert Account.recover_message(encode_defunct(primitive=digest), signature=signature) == ADDRESS
    signed = hub_signer().sign_transaction({
        "type": 2, "chainId": 31337, "nonce": 0, "to": ADDRESS, "value": 0, "gas": 21_000,
        "maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**9})
    assert Account.recover_transaction(signed.raw_transaction) == ADDRESS


def test_the_key_never_appears_in_repr_str_logs_or_pickles(
    keyed: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    keyed.HUB_PRIVATE_KEY_FILE = key_file(tmp_path, KEY)
    with caplog.at_level(logging.DEBUG):
        signer = hub_signer()
        signer.sign_raw_hash(keccak(b"x"))
        logging.getLogger("test").info("signer is %s / %r", signer, signer)
    assert ADDRESS in caplog.text  # the log line is there, with the address only
    assert_hidden(caplog.text)
    assert_hidden(repr(signer) + str(signer) + repr(hub_state_signer()))
    with pytest.raises(TypeError):
        pickle.dumps(signer)


def _full_error_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc.args) + repr(exc.__context__) + repr(
        exc.__cause__)


@pytest.mark.parametrize("content", [
    KEY_HEX[:-2],  # too short
    KEY_HEX + "zz",  # not hex
    "0x" + "00" * 32,  # not a valid secp256k1 key
    "ff" * 32,  # above the curve order
])
def test_a_bad_key_file_fails_without_echoing_it(keyed: Any, tmp_path: Path, content: str) -> None:
    keyed.HUB_PRIVATE_KEY_FILE = key_file(tmp_path, content)
    with pytest.raises(SignerError) as info:
        hub_signer()
    text = _full_error_text(info.value)
    assert "HUB_PRIVATE_KEY_FILE" in text
    assert content not in text and content.removeprefix("0x") not in text


def test_a_wrong_keystore_password_fails_without_echoing_secrets(
    keyed: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    store, _ = keystore(tmp_path)
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password")
    keyed.HUB_KEYSTORE_FILE, keyed.HUB_KEYSTORE_PASSWORD_FILE = store, wrong
    with caplog.at_level(logging.DEBUG), pytest.raises(SignerError) as info:
        hub_signer()
    text = _full_error_text(info.value) + caplog.text
    assert "could not be decrypted" in text
    assert_hidden(text)
    assert "not the password" not in text


def test_missing_configuration_is_reported(keyed: Any) -> None:
    with pytest.raises(SignerError, match="HUB_PRIVATE_KEY_FILE"):
        hub_signer()


def test_the_signer_module_keeps_no_key_in_module_state(keyed: Any, tmp_path: Path) -> None:
    keyed.HUB_PRIVATE_KEY_FILE = key_file(tmp_path, KEY)
    hub_signer()
    module_text = repr({k: v for k, v in vars(signer_module).items() if not k.startswith("__")})
    assert_hidden(module_text)


def test_a_changed_key_setting_is_read_again(keyed: Any, tmp_path: Path) -> None:
    """The key settings are read once and again after Django's `setting_changed` (what
    override_settings and pytest-django's `settings` send): no stale signer after a switch."""
    keyed.HUB_PRIVATE_KEY_FILE = key_file(tmp_path, KEY)
    assert hub_address() == ADDRESS and hub_address() == ADDRESS
    other = tmp_path / "other"
    other.mkdir()
    keyed.HUB_PRIVATE_KEY_FILE = key_file(other, "0x" + "11" * 32)  # no cache clear in between
    assert hub_address() == Account.from_key("0x" + "11" * 32).address
    digest = "0x" + "ab" * 32
    assert recover(digest, hub_state_signer().sign_hash(digest)) == hub_address().lower()
