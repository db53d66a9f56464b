"""The user's key: channel-state signatures via `hub.core.Signer`, personal messages and
transactions via eth-account. The private key never appears in repr/str."""

from __future__ import annotations

import re

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from hub.core import ChannelState, Signer

_HEX_RE = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")


def message_bytes(message: str) -> bytes:
    """What ethers' `signMessage` signs for a string: a 0x-hex string is signed as the bytes it
    encodes, anything else as UTF-8. The Connext client signs the auth nonce this way, so a hub
    must verify it the same way; the SDK does the same to be interchangeable with that client."""
    if _HEX_RE.match(message):
        return bytes.fromhex(message[2:])
    return message.encode("utf-8")


class UserKey:
    """A secp256k1 key of a channel user."""

    __slots__ = ("_account", "_signer", "address")

    def __init__(self, private_key: str | bytes) -> None:
        if isinstance(private_key, str):
            private_key = bytes.fromhex(private_key.removeprefix("0x"))
        self._signer = Signer(private_key)
        self._account: LocalAccount = Account.from_key(private_key)
        self.address: str = self._signer.address  # lower-case, like every address in hub.core

    @classmethod
    def generate(cls) -> UserKey:
        return cls(bytes(Account.create().key))

    def __repr__(self) -> str:
        return f"UserKey(address={self.address})"

    __str__ = __repr__

    @property
    def account(self) -> LocalAccount:
        """The eth-account signer, for sending transactions with web3."""
        return self._account

    def sign_message(self, message: str) -> str:
        """EIP-191 personal-message signature (0x-hex, v = 27/28) of `message_bytes(message)`."""
        signed = self._account.sign_message(encode_defunct(primitive=message_bytes(message)))
        return "0x" + bytes(signed.signature).hex()

    def sign_state(self, state: ChannelState) -> ChannelState:
        """`state` with `sigUser` set (the hub signature, if any, is kept)."""
        if state.user != self.address:
            raise ValueError(f"refusing to sign a state of {state.user} with the key of {self.address}")
        return self._signer.sign_channel_state(state, as_party="user")

    def sign_deposit_request(self, *, amount_wei: int, amount_token: int) -> str:
        return self._signer.sign_deposit_request(amount_token, amount_wei)
