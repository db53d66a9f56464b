"""Strict parsing of the client's JSON shape for states and args."""

from __future__ import annotations

from typing import Any

import pytest
from core_factories import CONTRACT, USER, channel_states
from hypothesis import given, settings

from hub.core import ChannelState, UpdateRejected, parse_address, parse_args, zero_state
from hub.core.state import UINT256_MAX

GOOD: dict[str, Any] = {
    "contractAddress": CONTRACT,
    "user": USER.address,
    "recipient": USER.address,
    "balanceWeiHub": "1",
    "balanceWeiUser": "2",
    "balanceTokenHub": "3",
    "balanceTokenUser": "4",
    "pendingDepositWeiHub": "0",
    "pendingDepositWeiUser": "0",
    "pendingDepositTokenHub": "0",
    "pendingDepositTokenUser": "0",
    "pendingWithdrawalWeiHub": "0",
    "pendingWithdrawalWeiUser": "0",
    "pendingWithdrawalTokenHub": "0",
    "pendingWithdrawalTokenUser": "0",
    "txCountGlobal": 3,
    "txCountChain": 1,
    "threadRoot": "0x" + "00" * 32,
    "threadCount": 0,
    "timeout": 0,
    "sigHub": "",
    "sigUser": "",
}


def test_client_json_parses_into_ints_and_lower_case() -> None:
    s = ChannelState.from_json({**GOOD, "user": "0x" + USER.address[2:].upper()})
    assert (s.balance_wei_hub, s.balance_token_user, s.tx_count_global) == (1, 4, 3)
    assert s.user == USER.address
    assert s.sig_hub is None


@settings(max_examples=50, deadline=None)
@given(channel_states())
def test_json_round_trip_is_lossless(s: ChannelState) -> None:
    assert ChannelState.from_json(s.to_json()) == s


@given(channel_states(), channel_states())
def test_replace_is_dataclasses_replace(s: ChannelState, other: ChannelState) -> None:
    """ChannelState.replace (its own fast copy) makes exactly what `dataclasses.replace` makes,
    for any set of changed fields, and refuses a name that is not a field."""
    import dataclasses

    for names in (("sig_hub", "sig_user"), ("tx_count_global",), tuple(f.name for f in dataclasses.fields(s))):
        changes = {name: getattr(other, name) for name in names}
        assert s.replace(**changes) == dataclasses.replace(s, **changes)
    assert s.unsigned() == dataclasses.replace(s, sig_hub=None, sig_user=None)
    assert s.replace() == s
    with pytest.raises(TypeError):
        s.replace(balance=1)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("balanceWeiHub", "-1"),
        ("balanceWeiHub", "1.5"),
        ("balanceWeiHub", 1.0),
        ("balanceWeiHub", "0x10"),
        ("balanceWeiHub", ""),
        ("balanceWeiHub", " 1"),
        ("balanceWeiHub", True),
        ("balanceWeiHub", None),
        ("balanceTokenUser", str(UINT256_MAX + 1)),
        ("txCountGlobal", -1),
        ("user", "0x1234"),
        ("user", "1563915e194d8cfba1943570603f7606a3115508aa"),
        ("contractAddress", "0x" + "g" * 40),
        ("threadRoot", "0x00"),
    ],
)
def test_malformed_state_field_is_rejected_as_bad_args(field: str, value: Any) -> None:
    with pytest.raises(UpdateRejected) as err:
        ChannelState.from_json({**GOOD, field: value})
    assert err.value.code == "bad_args"


def test_missing_state_field_is_rejected() -> None:
    data = dict(GOOD)
    del data["timeout"]
    with pytest.raises(UpdateRejected) as err:
        ChannelState.from_json(data)
    assert err.value.code == "bad_args"


def test_malformed_signature_in_state_is_rejected_as_bad_signature() -> None:
    with pytest.raises(UpdateRejected) as err:
        ChannelState.from_json({**GOOD, "sigUser": "0x1234"})
    assert err.value.code == "bad_signature"


def test_mixed_case_address_needs_a_valid_checksum() -> None:
    good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    assert parse_address(good) == good.lower()
    with pytest.raises(UpdateRejected):
        parse_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD")


def test_uint256_max_is_accepted() -> None:
    assert (
        ChannelState.from_json({**GOOD, "balanceWeiHub": str(UINT256_MAX)}).balance_wei_hub
        == UINT256_MAX
    )


def test_zero_state_has_no_value_and_no_nonce() -> None:
    z = zero_state(CONTRACT, USER.address)
    assert (z.tx_count_global, z.tx_count_chain, z.has_pending_ops, z.recipient) == (
        0,
        0,
        False,
        USER.address,
    )


@pytest.mark.parametrize(
    ("reason", "args"),
    [
        ("Payment", {"recipient": "bob", "amountWei": "1", "amountToken": "0"}),
        ("Payment", {"recipient": "hub", "amountWei": "-1", "amountToken": "0"}),
        ("Payment", {"recipient": "hub", "amountWei": "1"}),
        (
            "Exchange",
            {"seller": "user", "exchangeRate": "abc", "weiToSell": "0", "tokensToSell": "1"},
        ),
        (
            "Exchange",
            {"seller": "user", "exchangeRate": "0", "weiToSell": "0", "tokensToSell": "1"},
        ),
        (
            "Exchange",
            {
                "seller": "user",
                "exchangeRate": "1.1234567890123456789",
                "weiToSell": "0",
                "tokensToSell": "1",
            },
        ),
        (
            "ProposePendingDeposit",
            {
                "depositWeiHub": "0",
                "depositWeiUser": "1",
                "depositTokenHub": "0",
                "depositTokenUser": "0",
            },
        ),
        ("Invalidation", {"invalidTxCount": 3, "reason": "CU_WHATEVER"}),
        ("ConfirmPending", {"transactionHash": "0x12"}),
        ("Payment", ["not", "an", "object"]),
    ],
)
def test_malformed_args_are_rejected_as_bad_args(reason: str, args: Any) -> None:
    with pytest.raises(UpdateRejected) as err:
        parse_args(reason, args)
    assert err.value.code == "bad_args"


def test_thread_reasons_take_a_thread_state() -> None:
    with pytest.raises(UpdateRejected) as err:
        parse_args("OpenThread", {})
    assert err.value.code == "bad_args"
    with pytest.raises(UpdateRejected) as err:
        parse_args("NukeThreads", {})
    assert err.value.code == "unknown_reason"
