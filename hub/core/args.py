"""Typed arguments of each channel update reason, parsed strictly from the client's JSON shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

from hub.core.errors import RejectCode, UpdateRejected
from hub.core.rates import rate_to_wad
from hub.core.state import parse_address, parse_bytes32, parse_optional_sig, parse_uint
from hub.core.threads import ThreadArgs

PARTIES = ("hub", "user")
INVALIDATION_REASONS = ("CU_INVALID_ERROR", "CU_INVALID_REJECTED", "CU_INVALID_TIMEOUT")


def _bad(message: str) -> UpdateRejected:
    return UpdateRejected(RejectCode.BAD_ARGS, message)


def _obj(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _bad(f"{what} args must be an object")
    return data


def _get(data: Mapping[str, Any], key: str) -> Any:
    if key not in data or data[key] is None:
        raise _bad(f"missing argument {key}")
    return data[key]


def _uint(data: Mapping[str, Any], key: str, default: int | None = None) -> int:
    if default is not None and data.get(key) in (None, ""):
        return default
    return parse_uint(_get(data, key), key)


def _party(data: Mapping[str, Any], key: str) -> str:
    value = _get(data, key)
    if value not in PARTIES:
        raise _bad(f"{key} must be 'hub' or 'user', not {value!r}")
    return str(value)


def _rate(data: Mapping[str, Any]) -> str:
    value = _get(data, "exchangeRate")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _bad(f"exchangeRate must be a decimal string, not {value!r}")
    rate_to_wad(value)
    return value


@dataclass(frozen=True, slots=True)
class PaymentArgs:
    recipient: str  # 'hub' | 'user'
    amount_wei: int
    amount_token: int

    @classmethod
    def from_json(cls, data: object) -> PaymentArgs:
        d = _obj(data, "Payment")
        return cls(_party(d, "recipient"), _uint(d, "amountWei"), _uint(d, "amountToken"))

    def to_json(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient,
            "amountWei": str(self.amount_wei),
            "amountToken": str(self.amount_token),
        }


@dataclass(frozen=True, slots=True)
class ExchangeArgs:
    seller: str  # 'hub' | 'user'
    exchange_rate: str
    wei_to_sell: int
    tokens_to_sell: int

    @classmethod
    def from_json(cls, data: object) -> ExchangeArgs:
        d = _obj(data, "Exchange")
        return cls(_party(d, "seller"), _rate(d), _uint(d, "weiToSell"), _uint(d, "tokensToSell"))

    def to_json(self) -> dict[str, Any]:
        return {
            "seller": self.seller,
            "exchangeRate": self.exchange_rate,
            "weiToSell": str(self.wei_to_sell),
            "tokensToSell": str(self.tokens_to_sell),
        }


@dataclass(frozen=True, slots=True)
class DepositArgs:
    deposit_wei_hub: int
    deposit_wei_user: int
    deposit_token_hub: int
    deposit_token_user: int
    timeout: int
    sig_user: str | None = None  # the user's deposit-request signature, if user-initiated

    @classmethod
    def from_json(cls, data: object) -> DepositArgs:
        d = _obj(data, "ProposePendingDeposit")
        return cls(
            _uint(d, "depositWeiHub"),
            _uint(d, "depositWeiUser"),
            _uint(d, "depositTokenHub"),
            _uint(d, "depositTokenUser"),
            _uint(d, "timeout"),
            parse_optional_sig(d.get("sigUser"), "sigUser"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "depositWeiHub": str(self.deposit_wei_hub),
            "depositWeiUser": str(self.deposit_wei_user),
            "depositTokenHub": str(self.deposit_token_hub),
            "depositTokenUser": str(self.deposit_token_user),
            "timeout": self.timeout,
        }
        if self.sig_user is not None:
            out["sigUser"] = self.sig_user
        return out


@dataclass(frozen=True, slots=True)
class WithdrawalArgs:
    """The client's WithdrawalArgs: an exchange, then pending ops that reach the target balances."""

    seller: str
    exchange_rate: str
    tokens_to_sell: int
    wei_to_sell: int
    recipient: str
    target_wei_user: int
    target_token_user: int
    target_wei_hub: int
    target_token_hub: int
    timeout: int
    additional_wei_hub_to_user: int = 0
    additional_token_hub_to_user: int = 0

    @classmethod
    def from_json(cls, data: object) -> WithdrawalArgs:
        d = _obj(data, "ProposePendingWithdrawal")
        return cls(
            seller=_party(d, "seller"),
            exchange_rate=_rate(d),
            tokens_to_sell=_uint(d, "tokensToSell"),
            wei_to_sell=_uint(d, "weiToSell"),
            recipient=parse_address(_get(d, "recipient"), "recipient"),
            target_wei_user=_uint(d, "targetWeiUser"),
            target_token_user=_uint(d, "targetTokenUser"),
            target_wei_hub=_uint(d, "targetWeiHub"),
            target_token_hub=_uint(d, "targetTokenHub"),
            timeout=_uint(d, "timeout"),
            additional_wei_hub_to_user=_uint(d, "additionalWeiHubToUser", 0),
            additional_token_hub_to_user=_uint(d, "additionalTokenHubToUser", 0),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "seller": self.seller,
            "exchangeRate": self.exchange_rate,
            "tokensToSell": str(self.tokens_to_sell),
            "weiToSell": str(self.wei_to_sell),
            "recipient": self.recipient,
            "targetWeiUser": str(self.target_wei_user),
            "targetTokenUser": str(self.target_token_user),
            "targetWeiHub": str(self.target_wei_hub),
            "targetTokenHub": str(self.target_token_hub),
            "additionalWeiHubToUser": str(self.additional_wei_hub_to_user),
            "additionalTokenHubToUser": str(self.additional_token_hub_to_user),
            "timeout": self.timeout,
        }


@dataclass(frozen=True, slots=True)
class ConfirmPendingArgs:
    transaction_hash: str

    @classmethod
    def from_json(cls, data: object) -> ConfirmPendingArgs:
        d = _obj(data, "ConfirmPending")
        return cls(parse_bytes32(_get(d, "transactionHash"), "transactionHash"))

    def to_json(self) -> dict[str, Any]:
        return {"transactionHash": self.transaction_hash}


@dataclass(frozen=True, slots=True)
class EmptyChannelArgs:
    transaction_hash: str

    @classmethod
    def from_json(cls, data: object) -> EmptyChannelArgs:
        d = _obj(data, "EmptyChannel")
        return cls(parse_bytes32(_get(d, "transactionHash"), "transactionHash"))

    def to_json(self) -> dict[str, Any]:
        return {"transactionHash": self.transaction_hash}


@dataclass(frozen=True, slots=True)
class InvalidationArgs:
    invalid_tx_count: int
    reason: str  # one of INVALIDATION_REASONS
    message: str | None = None
    withdrawal: WithdrawalArgs | None = None

    @classmethod
    def from_json(cls, data: object) -> InvalidationArgs:
        d = _obj(data, "Invalidation")
        reason = _get(d, "reason")
        if reason not in INVALIDATION_REASONS:
            raise _bad(f"unknown invalidation reason {reason!r}")
        message = d.get("message")
        if message is not None and not isinstance(message, str):
            raise _bad("message must be a string")
        raw_wd = d.get("withdrawal")
        return cls(
            invalid_tx_count=_uint(d, "invalidTxCount"),
            reason=str(reason),
            message=message,
            withdrawal=WithdrawalArgs.from_json(raw_wd) if raw_wd else None,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"invalidTxCount": self.invalid_tx_count, "reason": self.reason}
        if self.message is not None:
            out["message"] = self.message
        if self.withdrawal is not None:
            out["withdrawal"] = self.withdrawal.to_json()
        return out


UpdateArgs = Union[  # noqa: UP007 - a readable alias for the union of all reasons' args
    PaymentArgs,
    ExchangeArgs,
    DepositArgs,
    WithdrawalArgs,
    ConfirmPendingArgs,
    InvalidationArgs,
    EmptyChannelArgs,
    ThreadArgs,
]

ARGS_BY_REASON: dict[str, type[UpdateArgs]] = {
    "Payment": PaymentArgs,
    "Exchange": ExchangeArgs,
    "ProposePendingDeposit": DepositArgs,
    "ProposePendingWithdrawal": WithdrawalArgs,
    "ConfirmPending": ConfirmPendingArgs,
    "Invalidation": InvalidationArgs,
    "EmptyChannel": EmptyChannelArgs,
    "OpenThread": ThreadArgs,
    "CloseThread": ThreadArgs,
}


def parse_args(reason: str, data: object) -> UpdateArgs:
    try:
        args_type = ARGS_BY_REASON[reason]
    except KeyError:
        raise UpdateRejected(RejectCode.UNKNOWN_REASON, f"unsupported reason {reason!r}") from None
    return args_type.from_json(data)
