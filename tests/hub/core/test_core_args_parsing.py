"""Each reason's args parsed from the client's JSON: the exact values (optional amounts default to 0,
an integer rate becomes its decimal string), and a malformed argument refused with `bad_args` (or
`bad_signature`) naming the reason or the field, as the state's own fields are
(test_core_parsing.py)."""

from __future__ import annotations

from typing import Any

import pytest
from core_factories import USER

from hub.core import UpdateRejected
from hub.core.args import (
    DepositArgs,
    ExchangeArgs,
    InvalidationArgs,
    PaymentArgs,
    WithdrawalArgs,
    parse_args,
)

WITHDRAWAL = {
    "seller": "user", "exchangeRate": "5", "tokensToSell": "10", "weiToSell": "0",
    "recipient": USER.address, "targetWeiUser": "1", "targetTokenUser": "2",
    "targetWeiHub": "3", "targetTokenHub": "4", "timeout": 600,
}
DEPOSIT = {"depositWeiHub": "1", "depositWeiUser": "2", "depositTokenHub": "3",
           "depositTokenUser": "4", "timeout": 600}
EXCHANGE = {"seller": "hub", "exchangeRate": "5", "weiToSell": "0", "tokensToSell": "9"}


def rejection(call: Any, *args: Any) -> UpdateRejected:
    with pytest.raises(UpdateRejected) as err:
        call(*args)
    return err.value


def test_a_withdrawal_without_the_additional_amounts_takes_zero_for_both() -> None:
    parsed = WithdrawalArgs.from_json(WITHDRAWAL)
    assert (parsed.additional_wei_hub_to_user, parsed.additional_token_hub_to_user) == (0, 0)
    empty = WithdrawalArgs.from_json({**WITHDRAWAL, "additionalWeiHubToUser": "",
                                      "additionalTokenHubToUser": None})
    assert (empty.additional_wei_hub_to_user, empty.additional_token_hub_to_user) == (0, 0)


def test_a_withdrawal_with_the_additional_amounts_keeps_each_under_its_own_key() -> None:
    parsed = WithdrawalArgs.from_json({**WITHDRAWAL, "additionalWeiHubToUser": "7",
                                       "additionalTokenHubToUser": 9})
    assert (parsed.additional_wei_hub_to_user, parsed.additional_token_hub_to_user) == (7, 9)
    assert parsed == WithdrawalArgs(
        seller="user", exchange_rate="5", tokens_to_sell=10, wei_to_sell=0,
        recipient=USER.address.lower(), target_wei_user=1, target_token_user=2, target_wei_hub=3,
        target_token_hub=4, timeout=600, additional_wei_hub_to_user=7,
        additional_token_hub_to_user=9)
    assert WithdrawalArgs.from_json(parsed.to_json()) == parsed
    err = rejection(WithdrawalArgs.from_json, {**WITHDRAWAL, "additionalTokenHubToUser": "-1"})
    assert err.code == "bad_args" and err.message.startswith("additionalTokenHubToUser is not ")


def test_an_integer_exchange_rate_is_taken_as_its_decimal_string() -> None:
    assert ExchangeArgs.from_json({**EXCHANGE, "exchangeRate": 7}).exchange_rate == "7"
    assert WithdrawalArgs.from_json({**WITHDRAWAL, "exchangeRate": 12}).exchange_rate == "12"
    assert ExchangeArgs.from_json(EXCHANGE) == ExchangeArgs("hub", "5", 0, 9)


@pytest.mark.parametrize("rate", [1.5, 5.0, True, [5], {"rate": "5"}])
def test_an_exchange_rate_that_is_not_a_string_or_an_integer_is_refused(rate: object) -> None:
    err = rejection(ExchangeArgs.from_json, {**EXCHANGE, "exchangeRate": rate})
    assert (err.code, err.message) == ("bad_args", f"exchangeRate must be a decimal string, not {rate!r}")


@pytest.mark.parametrize(
    ("reason", "args_type"),
    [("Payment", PaymentArgs), ("Exchange", ExchangeArgs), ("ProposePendingDeposit", DepositArgs),
     ("ProposePendingWithdrawal", WithdrawalArgs), ("Invalidation", InvalidationArgs)],
)
def test_args_that_are_not_an_object_are_refused_naming_the_reason(reason: str, args_type: Any) -> None:
    for call in (args_type.from_json, lambda data: parse_args(reason, data)):
        err = rejection(call, ["not", "an", "object"])
        assert (err.code, err.message) == ("bad_args", f"{reason} args must be an object")


def test_a_malformed_deposit_request_signature_is_refused_naming_sig_user() -> None:
    err = rejection(DepositArgs.from_json, {**DEPOSIT, "sigUser": "0x1234"})
    assert (err.code, err.message) == ("bad_signature", "sigUser is not a 65-byte hex signature")
    assert DepositArgs.from_json({**DEPOSIT, "sigUser": ""}).sig_user is None


@pytest.mark.parametrize(("value", "problem"), [("0x12", "is not an address"),
                                                 ("0x" + "aB" * 20, "has a bad checksum")])
def test_a_malformed_withdrawal_recipient_is_refused_naming_recipient(value: str, problem: str) -> None:
    err = rejection(WithdrawalArgs.from_json, {**WITHDRAWAL, "recipient": value})
    assert (err.code, err.message) == ("bad_args", f"recipient {problem}: {value!r}")
