"""secp256k1 personal-message signatures (EIP-191, "\\x19Ethereum Signed Message:\\n32" + hash).

Signatures travel as 0x-hex, 65 bytes r‖s‖v with v = 27/28; v = 0/1 is accepted on input (the
contract's ECTools adds 27). High-s signatures are refused: they are valid ECDSA but malleable, and
a second encoding of the same signature must not count as a different one.
"""

from __future__ import annotations

import dataclasses
import re

import coincurve

from hub.core.errors import RejectCode, UpdateRejected
from hub.core.hashing import channel_state_hash, deposit_request_hash, thread_state_hash
from hub.core.keccak import keccak  # bytes only here: no argument checks
from hub.core.state import ChannelState, ThreadState

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HALF_N = SECP256K1_N // 2
_SIG_RE = re.compile(r"^0x[0-9a-fA-F]{130}$")
_HASH_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")


def _bad(message: str) -> UpdateRejected:
    return UpdateRejected(RejectCode.BAD_SIGNATURE, message)


def personal_message_hash(msg_hash: str) -> bytes:
    if not _HASH_RE.match(msg_hash):
        raise ValueError(f"not a 32-byte hex hash: {msg_hash!r}")
    return keccak(b"\x19Ethereum Signed Message:\n32" + bytes.fromhex(msg_hash[2:]))


def address_from_public_key(public_key: coincurve.PublicKey) -> str:
    return "0x" + keccak(public_key.format(compressed=False)[1:])[-20:].hex()


def recover(msg_hash: str, signature: str | None) -> str:
    """The lower-case address that signed `msg_hash` as a personal message, or UpdateRejected."""
    if not isinstance(signature, str) or not _SIG_RE.match(signature):
        raise _bad("signature is not 65 bytes of 0x-hex")
    raw = bytes.fromhex(signature[2:])
    r, s, v = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]
    if v in (27, 28):
        v -= 27
    if v not in (0, 1):
        raise _bad(f"signature has v={raw[64]}")
    if not (0 < r < SECP256K1_N) or not (0 < s <= _HALF_N):
        raise _bad("signature r/s out of range (high-s signatures are not accepted)")
    try:
        public_key = coincurve.PublicKey.from_signature_and_message(
            raw[:64] + bytes([v]), personal_message_hash(msg_hash), hasher=None
        )
    except Exception as exc:  # coincurve raises plain Exception on unrecoverable input
        raise _bad("signature does not recover to a public key") from exc
    return address_from_public_key(public_key)


def assert_signed_by(msg_hash: str, signature: str | None, address: str, *, who: str) -> None:
    if signature is None:
        raise _bad(f"missing {who} signature")
    if recover(msg_hash, signature) != address.lower():
        raise _bad(f"{who} signature does not recover to {address.lower()}")


def assert_channel_signer(state: ChannelState, *, hub_address: str, signer: str) -> None:
    """`signer` is 'hub' or 'user'; the signature must recover to that party's address."""
    if signer == "hub":
        assert_signed_by(channel_state_hash(state), state.sig_hub, hub_address, who="hub")
    elif signer == "user":
        assert_signed_by(channel_state_hash(state), state.sig_user, state.user, who="user")
    else:
        raise ValueError(f"unknown signer {signer!r}")


def assert_thread_signer(thread: ThreadState) -> None:
    assert_signed_by(thread_state_hash(thread), thread.sig_a, thread.sender, who="thread sender")


def assert_deposit_request_signer(
    amount_token: int, amount_wei: int, signature: str | None, user: str
) -> None:
    assert_signed_by(deposit_request_hash(amount_token, amount_wei), signature, user, who="user")


class Signer:
    """Holds a private key and signs personal messages. The key never appears in repr/str."""

    __slots__ = ("_key", "address")

    def __init__(self, private_key: bytes | str) -> None:
        if isinstance(private_key, str):
            private_key = bytes.fromhex(private_key.removeprefix("0x"))
        if len(private_key) != 32:
            raise ValueError("a private key is 32 bytes")
        self._key = coincurve.PrivateKey(private_key)
        self.address: str = address_from_public_key(self._key.public_key)

    def __repr__(self) -> str:
        return f"Signer(address={self.address})"

    __str__ = __repr__

    def sign_hash(self, msg_hash: str) -> str:
        # libsecp256k1 always produces low-s signatures, which `recover` requires.
        raw = self._key.sign_recoverable(personal_message_hash(msg_hash), hasher=None)
        return "0x" + raw[:64].hex() + format(raw[64] + 27, "02x")

    def sign_channel_state(self, state: ChannelState, *, as_party: str = "hub") -> ChannelState:
        sig = self.sign_hash(channel_state_hash(state))
        if as_party == "hub":
            return state.replace(sig_hub=sig)
        if as_party == "user":
            return state.replace(sig_user=sig)
        raise ValueError(f"unknown party {as_party!r}")

    def sign_thread_state(self, thread: ThreadState) -> ThreadState:
        return dataclasses.replace(thread, sig_a=self.sign_hash(thread_state_hash(thread)))

    def sign_deposit_request(self, amount_token: int, amount_wei: int) -> str:
        return self.sign_hash(deposit_request_hash(amount_token, amount_wei))
