"""Channel and thread states, and their strict conversion from/to the Connext client's JSON shape.

Canonical forms inside Spoke: addresses, hashes and signatures are lower-case 0x-hex strings;
every amount is a Python int in [0, 2**256). The client's JSON uses camelCase keys, decimal strings
for amounts and JSON numbers for txCount/threadCount/timeout; we accept either for every number.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils.address import to_checksum_address

from hub.core.errors import RejectCode, UpdateRejected

UINT256_MAX = 2**256 - 1
ZERO_ADDRESS = "0x" + "00" * 20
ZERO_ROOT = "0x" + "00" * 32

_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BYTES32_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")
# At most 78 digits (uint256): int() of a longer string is slow, and past 4300 digits it raises.
_DECIMAL_RE = re.compile(r"^[0-9]{1,78}$")


def _reject(message: str) -> UpdateRejected:
    return UpdateRejected(RejectCode.BAD_ARGS, message)


def parse_address(value: object, field: str = "address") -> str:
    """Lower-case a 0x address; mixed case must carry a valid EIP-55 checksum (as ethers does)."""
    if not isinstance(value, str) or not _ADDRESS_RE.match(value):
        raise _reject(f"{field} is not an address: {value!r}")
    body = value[2:]
    if body != body.lower() and body != body.upper() and to_checksum_address(value) != value:
        raise _reject(f"{field} has a bad checksum: {value!r}")
    return value.lower()


def parse_bytes32(value: object, field: str) -> str:
    if not isinstance(value, str) or not _BYTES32_RE.match(value):
        raise _reject(f"{field} is not a 32-byte hex string: {value!r}")
    return value.lower()


def parse_uint(value: object, field: str) -> int:
    """A uint256 from an int or a decimal string; anything else (floats, signs, hex) is refused."""
    if isinstance(value, bool):
        raise _reject(f"{field} is not a number: {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DECIMAL_RE.match(value):
        number = int(value)
    else:
        raise _reject(f"{field} is not a non-negative integer: {value!r}")
    if number < 0 or number > UINT256_MAX:
        raise _reject(f"{field} is out of the uint256 range: {value!r}")
    return number


def parse_optional_sig(value: object, field: str) -> str | None:
    """Signatures are only shape-checked here; `signing.recover` validates them fully."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.match(r"^0x[0-9a-fA-F]{130}$", value):
        raise UpdateRejected(RejectCode.BAD_SIGNATURE, f"{field} is not a 65-byte hex signature")
    return value.lower()


def _require(data: Mapping[str, Any], key: str) -> Any:
    if key not in data:
        raise _reject(f"missing field {key}")
    return data[key]


# (python attribute, client JSON key) for the twelve amounts, in the client's field order.
AMOUNT_FIELDS: tuple[tuple[str, str], ...] = (
    ("balance_wei_hub", "balanceWeiHub"),
    ("balance_wei_user", "balanceWeiUser"),
    ("balance_token_hub", "balanceTokenHub"),
    ("balance_token_user", "balanceTokenUser"),
    ("pending_deposit_wei_hub", "pendingDepositWeiHub"),
    ("pending_deposit_wei_user", "pendingDepositWeiUser"),
    ("pending_deposit_token_hub", "pendingDepositTokenHub"),
    ("pending_deposit_token_user", "pendingDepositTokenUser"),
    ("pending_withdrawal_wei_hub", "pendingWithdrawalWeiHub"),
    ("pending_withdrawal_wei_user", "pendingWithdrawalWeiUser"),
    ("pending_withdrawal_token_hub", "pendingWithdrawalTokenHub"),
    ("pending_withdrawal_token_user", "pendingWithdrawalTokenUser"),
)
PENDING_FIELDS: tuple[str, ...] = tuple(a for a, _ in AMOUNT_FIELDS if a.startswith("pending"))
_COUNT_FIELDS: tuple[tuple[str, str], ...] = (
    ("tx_count_global", "txCountGlobal"),
    ("tx_count_chain", "txCountChain"),
    ("thread_count", "threadCount"),
    ("timeout", "timeout"),
)


@dataclass(frozen=True, slots=True)
class ChannelState:
    """One channel state (docs/protocol.md §1). Amounts may be negative only transiently inside the
    generators; every state that leaves the core has passed `invariants.check_state`."""

    contract_address: str
    user: str
    recipient: str
    balance_wei_hub: int = 0
    balance_wei_user: int = 0
    balance_token_hub: int = 0
    balance_token_user: int = 0
    pending_deposit_wei_hub: int = 0
    pending_deposit_wei_user: int = 0
    pending_deposit_token_hub: int = 0
    pending_deposit_token_user: int = 0
    pending_withdrawal_wei_hub: int = 0
    pending_withdrawal_wei_user: int = 0
    pending_withdrawal_token_hub: int = 0
    pending_withdrawal_token_user: int = 0
    tx_count_global: int = 0
    tx_count_chain: int = 0
    thread_root: str = ZERO_ROOT
    thread_count: int = 0
    timeout: int = 0
    sig_hub: str | None = None
    sig_user: str | None = None

    def __repr__(self) -> str:
        return (
            f"ChannelState(user={self.user}, txG={self.tx_count_global}, "
            f"txC={self.tx_count_chain}, wei=[{self.balance_wei_hub}, {self.balance_wei_user}], "
            f"token=[{self.balance_token_hub}, {self.balance_token_user}], "
            f"pending={[getattr(self, f) for f in PENDING_FIELDS]}, timeout={self.timeout})"
        )

    @property
    def has_pending_ops(self) -> bool:
        return any(getattr(self, f) != 0 for f in PENDING_FIELDS)

    @property
    def has_pending_withdrawals(self) -> bool:
        return any(getattr(self, f) != 0 for f in PENDING_FIELDS if "withdrawal" in f)

    @property
    def is_double_signed(self) -> bool:
        return self.sig_hub is not None and self.sig_user is not None

    def unsigned(self) -> ChannelState:
        return self.replace(sig_hub=None, sig_user=None)

    def replace(self, **changes: Any) -> ChannelState:
        """`dataclasses.replace`, for this class only: every field read at once, the changed ones
        put in, one positional construction (a purchase makes a dozen states this way; this is
        about 40% faster than the generic function, which walks the fields in Python)."""
        values = list(_STATE_VALUES(self))
        for name, value in changes.items():
            try:
                values[_STATE_INDEX[name]] = value
            except KeyError:
                raise TypeError(f"ChannelState has no field {name!r}") from None
        return ChannelState(*values)

    def same_content(self, other: ChannelState) -> bool:
        """Equal in every hashed field (signatures ignored)."""
        return self.unsigned() == other.unsigned()

    def to_json(self, *, with_sigs: bool = True) -> dict[str, Any]:
        """The client's shape: amounts as decimal strings, counts as numbers, '' for no signature
        (what the client's `addSigToChannelState` produces)."""
        out: dict[str, Any] = {
            "contractAddress": self.contract_address,
            "user": self.user,
            "recipient": self.recipient,
        }
        for attr, key in AMOUNT_FIELDS:
            out[key] = str(getattr(self, attr))
        out["txCountGlobal"] = self.tx_count_global
        out["txCountChain"] = self.tx_count_chain
        out["threadRoot"] = self.thread_root
        out["threadCount"] = self.thread_count
        out["timeout"] = self.timeout
        if with_sigs:
            out["sigHub"] = self.sig_hub or ""
            out["sigUser"] = self.sig_user or ""
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChannelState:
        """Parse the client's JSON strictly; any malformed field raises UpdateRejected('bad_args')."""
        if not isinstance(data, Mapping):
            raise _reject("channel state must be an object")
        kwargs: dict[str, Any] = {
            "contract_address": parse_address(_require(data, "contractAddress"), "contractAddress"),
            "user": parse_address(_require(data, "user"), "user"),
            "recipient": parse_address(_require(data, "recipient"), "recipient"),
            "thread_root": parse_bytes32(_require(data, "threadRoot"), "threadRoot"),
            "sig_hub": parse_optional_sig(data.get("sigHub"), "sigHub"),
            "sig_user": parse_optional_sig(data.get("sigUser"), "sigUser"),
        }
        for attr, key in (*AMOUNT_FIELDS, *_COUNT_FIELDS):
            kwargs[attr] = parse_uint(_require(data, key), key)
        return cls(**kwargs)


_STATE_FIELDS = tuple(f.name for f in dataclasses.fields(ChannelState))
_STATE_VALUES = operator.attrgetter(*_STATE_FIELDS)  # a state's values, in field order
_STATE_INDEX = {name: i for i, name in enumerate(_STATE_FIELDS)}


def zero_state(contract_address: str, user: str) -> ChannelState:
    """The implicit state 0 of a channel that has never been updated (txCountGlobal 0)."""
    user = parse_address(user, "user")
    return ChannelState(
        contract_address=parse_address(contract_address, "contractAddress"),
        user=user,
        recipient=user,
    )


_THREAD_AMOUNTS: tuple[tuple[str, str], ...] = (
    ("balance_wei_sender", "balanceWeiSender"),
    ("balance_wei_receiver", "balanceWeiReceiver"),
    ("balance_token_sender", "balanceTokenSender"),
    ("balance_token_receiver", "balanceTokenReceiver"),
)


@dataclass(frozen=True, slots=True)
class ThreadState:
    contract_address: str
    sender: str
    receiver: str
    thread_id: int
    balance_wei_sender: int = 0
    balance_wei_receiver: int = 0
    balance_token_sender: int = 0
    balance_token_receiver: int = 0
    tx_count: int = 0
    sig_a: str | None = None

    def to_json(self, *, with_sig: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "contractAddress": self.contract_address,
            "sender": self.sender,
            "receiver": self.receiver,
            "threadId": self.thread_id,
        }
        for attr, key in _THREAD_AMOUNTS:
            out[key] = str(getattr(self, attr))
        out["txCount"] = self.tx_count
        if with_sig:
            out["sigA"] = self.sig_a or ""
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ThreadState:
        if not isinstance(data, Mapping):
            raise _reject("thread state must be an object")
        kwargs: dict[str, Any] = {
            "contract_address": parse_address(_require(data, "contractAddress"), "contractAddress"),
            "sender": parse_address(_require(data, "sender"), "sender"),
            "receiver": parse_address(_require(data, "receiver"), "receiver"),
            "thread_id": parse_uint(_require(data, "threadId"), "threadId"),
            "tx_count": parse_uint(_require(data, "txCount"), "txCount"),
            "sig_a": parse_optional_sig(data.get("sigA"), "sigA"),
        }
        for attr, key in _THREAD_AMOUNTS:
            kwargs[attr] = parse_uint(_require(data, key), key)
        return cls(**kwargs)
