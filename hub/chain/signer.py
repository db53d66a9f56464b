"""The hub's Ethereum key: loaded once per process from a key file or an encrypted keystore.

The key is never stored in the database and never appears in repr/str, logs or exception
messages (errors name the setting, not its content, and are raised `from None` so no traceback
frame carries it). Transactions are signed here; channel states are signed by hub/core's
`Signer`, built from `hub_private_key()` by `hub_state_signer()`."""

from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from eth_account import Account
from eth_account.datastructures import SignedTransaction
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32

from hub.core.signing import Signer as StateSigner

logger = logging.getLogger(__name__)

_HEX_KEY_RE = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


class SignerError(RuntimeError):
    """The hub key could not be loaded. The message names the setting, never the secret."""


class HubSigner:
    """Signs the hub's transactions and raw 32-byte hashes. Not picklable, not printable."""

    __slots__ = ("_account", "address")

    def __init__(self, account: LocalAccount) -> None:
        self._account = account
        self.address: str = account.address  # checksummed

    def __repr__(self) -> str:
        return f"HubSigner(address={self.address})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("HubSigner holds a private key and cannot be pickled")

    def sign_transaction(self, tx: dict[str, Any]) -> SignedTransaction:
        return self._account.sign_transaction(tx)

    def sign_raw_hash(self, message_hash: bytes) -> bytes:
        """65-byte r‖s‖v (v = 27/28) over exactly these 32 bytes, with no message prefix."""
        if len(message_hash) != 32:
            raise ValueError("a hash is 32 bytes")
        signed = self._account.unsafe_sign_hash(Hash32(message_hash))
        return bytes(signed.signature)


def _read(path: Path, setting: str) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        raise SignerError(f"{setting} cannot be read") from None


def _account_from_key_file(path: Path) -> LocalAccount:
    text = _read(path, "HUB_PRIVATE_KEY_FILE")
    if not _HEX_KEY_RE.match(text):
        raise SignerError("HUB_PRIVATE_KEY_FILE does not hold a 32-byte hex private key")
    try:
        return Account.from_key(bytes.fromhex(text.removeprefix("0x")))
    except Exception:
        raise SignerError("HUB_PRIVATE_KEY_FILE holds an invalid secp256k1 key") from None


def _account_from_keystore(keystore: Path, password_file: Path) -> LocalAccount:
    try:
        encrypted = json.loads(_read(keystore, "HUB_KEYSTORE_FILE"))
    except ValueError:
        raise SignerError("HUB_KEYSTORE_FILE is not JSON") from None
    # A password file's trailing newline is an editor artefact, not part of the password.
    password = _read(password_file, "HUB_KEYSTORE_PASSWORD_FILE")
    try:
        key = Account.decrypt(encrypted, password)
    except Exception:
        raise SignerError(
            "HUB_KEYSTORE_FILE could not be decrypted with HUB_KEYSTORE_PASSWORD_FILE"
        ) from None
    return Account.from_key(key)


@lru_cache(maxsize=4)
def _load(key_file: str | None, keystore: str | None, password_file: str | None) -> HubSigner:
    if keystore:
        if not password_file:
            raise SignerError("HUB_KEYSTORE_PASSWORD_FILE is required with HUB_KEYSTORE_FILE")
        account = _account_from_keystore(Path(keystore), Path(password_file))
    elif key_file:
        account = _account_from_key_file(Path(key_file))
    else:
        raise SignerError("neither HUB_PRIVATE_KEY_FILE nor HUB_KEYSTORE_FILE is configured")
    signer = HubSigner(account)
    logger.info("hub signer loaded for %s", signer.address)
    return signer


_KEY_SETTINGS = ("HUB_PRIVATE_KEY_FILE", "HUB_KEYSTORE_FILE", "HUB_KEYSTORE_PASSWORD_FILE")
_configured_now: tuple[str | None, ...] | None = None


def _configured() -> tuple[str | None, ...]:
    """The key settings, read once (a payment asks for the hub's signer or address half a dozen
    times, and each read of three settings through Django's lazy settings cost more than the
    lookup it keys); read again after a change of one of them (Django's `setting_changed`, which
    override_settings and pytest-django's `settings` send) or `hub_signer_cache_clear`."""
    global _configured_now
    found = _configured_now
    if found is None:
        found = _configured_now = tuple(str(value) if value else None
                                        for value in (getattr(settings, name) for name in _KEY_SETTINGS))
    return found


@receiver(setting_changed)
def _key_setting_changed(*, setting: str, **_kwargs: Any) -> None:
    global _configured_now
    if setting in _KEY_SETTINGS:
        _configured_now = None


def hub_signer() -> HubSigner:
    """The hub signer for the configured key (a keystore wins over a key file). Cached."""
    return _load(*_configured())


def hub_address() -> str:
    """The hub's checksummed address."""
    return hub_signer().address


def hub_private_key() -> bytes:
    """The raw 32-byte key. Only for building hub/core's `Signer`; never log or store it."""
    return bytes(hub_signer()._account.key)


@lru_cache(maxsize=4)
def _state_signer(address: str) -> StateSigner:
    return StateSigner(hub_private_key())


def hub_state_signer() -> StateSigner:
    """hub/core's personal-message `Signer` for channel and thread states, with the hub key."""
    return _state_signer(hub_address())


def hub_signer_cache_clear() -> None:
    """Forget loaded keys (tests that switch key settings; key rotation on reload)."""
    global _configured_now
    _configured_now = None
    _load.cache_clear()
    _state_signer.cache_clear()
