"""Exact outcomes of the core: the recipient every generated state names, the rejection codes of
the entry points (with a readable message beside each), and the boundaries of the checks."""

from __future__ import annotations

from typing import Any

import pytest
from core_factories import CONTRACT, HUB, NOW, OTHER, USER, did_update, signed, state, withdrawal

from hub.core import (
    ChannelState,
    HubRate,
    ThreadState,
    UpdateRejected,
    apply_update,
)
from hub.core.args import DepositArgs, InvalidationArgs, PaymentArgs
from hub.core.state import UINT256_MAX, parse_address, parse_optional_sig

RATE = HubRate("5", NOW - 60)
TX = {"transactionHash": "0x" + "ab" * 32}


def rejected(call: Any, *args: Any, **kw: Any) -> UpdateRejected:
    with pytest.raises(UpdateRejected) as err:
        call(*args, **kw)
    # the code is the contract; the message beside it is a readable explanation, never empty
    assert isinstance(err.value.message, str) and err.value.message
    return err.value


def _apply(prev: ChannelState, reason: str, args: Any, **kw: Any) -> ChannelState:
    kw.setdefault("now", NOW)
    kw.setdefault("hub_rate", RATE)
    return apply_update(prev, reason, args, **kw)


# --- the recipient: every state that settles or proposes a deposit names the channel's user ------


def test_a_deposit_proposal_names_the_user_as_recipient_whatever_prev_named() -> None:
    prev = signed(state(balance_wei_hub=10, recipient=OTHER.address))
    new = _apply(prev, "ProposePendingDeposit", DepositArgs(0, 5, 0, 0, NOW + 300))
    assert new.recipient == USER.address
    assert (new.pending_deposit_wei_user, new.tx_count_chain, new.tx_count_global) == (5, 2, 2)


def test_confirming_a_withdrawal_to_another_address_names_the_user_again() -> None:
    before = signed(state(balance_wei_user=50))
    wd = withdrawal(recipient=OTHER.address, target_wei_user=20, timeout=NOW + 300)
    pending = signed(_apply(before, "ProposePendingWithdrawal", wd))
    assert pending.recipient == OTHER.address
    new = _apply(pending, "ConfirmPending", TX, event=did_update(pending))
    assert new.recipient == USER.address
    assert (new.balance_wei_user, new.pending_withdrawal_wei_user) == (20, 0)


def test_invalidating_a_withdrawal_to_another_address_names_the_user_again() -> None:
    before = signed(state(balance_wei_user=50))
    wd = withdrawal(recipient=OTHER.address, target_wei_user=20, timeout=NOW + 300)
    pending = signed(_apply(before, "ProposePendingWithdrawal", wd))
    args = InvalidationArgs(pending.tx_count_global, "CU_INVALID_TIMEOUT", withdrawal=wd)
    new = _apply(pending, "Invalidation", args, now=NOW + 301, invalidated_withdrawal=wd)
    # the client's quirk: the user keeps targetWeiUser + weiToSell, the rest goes to the hub
    assert new == before.unsigned().replace(
        balance_wei_hub=30, balance_wei_user=20, tx_count_global=3
    )
    assert new.recipient == USER.address


def test_confirm_pending_with_deposit_equal_to_withdrawal_leaves_the_balance() -> None:
    prev = signed(
        state(balance_wei_user=5, pending_deposit_wei_user=7, pending_withdrawal_wei_user=7)
    )
    new = _apply(prev, "ConfirmPending", TX, event=did_update(prev))
    assert (new.balance_wei_user, new.has_pending_ops) == (5, False)


# --- the reversibility check of a withdrawal uses the withdrawal's own args ------------------


def test_a_withdrawal_whose_client_invalidation_would_overdraw_the_hub_is_refused() -> None:
    # The sale of 1 token at rate 5 buys no wei; the client's Invalidation would give the user
    # targetTokenUser + tokensToSell = 6 tokens out of the 3 the channel holds.
    prev = signed(state(balance_token_user=3))
    wd = withdrawal(target_token_user=5, target_wei_user=11, tokens_to_sell=1, timeout=NOW + 300)
    err = rejected(_apply, prev, "ProposePendingWithdrawal", wd)
    assert err.code == "withdrawal_not_reversible"


# --- rejection codes ---------------------------------------------------------------------------


def test_typed_args_for_an_unknown_reason_are_refused_as_unknown_reason() -> None:
    err = rejected(_apply, signed(state()), "Refund", PaymentArgs("hub", 1, 0))
    assert err.code == "unknown_reason"


def test_typed_args_of_another_reason_are_refused_as_bad_args() -> None:
    err = rejected(_apply, signed(state(balance_wei_user=5)), "Payment", DepositArgs(0, 5, 0, 0, 0))
    assert err.code == "bad_args"


def test_a_payment_that_would_overflow_the_recipients_balance_is_refused() -> None:
    prev = signed(state(balance_wei_hub=UINT256_MAX, balance_wei_user=1))
    err = rejected(_apply, prev, "Payment", PaymentArgs("hub", 1, 0))
    assert err.code == "negative_balance"


def test_a_previous_state_past_its_first_chain_op_without_signatures_is_refused() -> None:
    prev = state(balance_wei_user=5, tx_count_chain=1)
    err = rejected(_apply, prev, "Payment", PaymentArgs("hub", 1, 0))
    assert err.code == "previous_unsigned"


def test_a_fresh_channel_needs_no_previous_signature() -> None:
    prev = state(tx_count_global=0, tx_count_chain=0)
    new = _apply(prev, "ProposePendingDeposit", DepositArgs(0, 5, 0, 0, NOW + 300))
    assert (new.pending_deposit_wei_user, new.tx_count_chain, new.tx_count_global) == (5, 1, 1)


# --- parsing -----------------------------------------------------------------------------------


def test_an_address_is_refused_naming_the_field_address_by_default() -> None:
    err = rejected(parse_address, "0x1234")
    assert (err.code, err.message.split()[0]) == ("bad_args", "address")


def test_an_address_mixed_only_in_its_first_digit_needs_a_valid_checksum() -> None:
    bad = "0xA" + "b" * 39  # mixed case only because of the first hex digit; not EIP-55
    err = rejected(parse_address, bad, "user")
    assert (err.code, err.message.split()[:4]) == ("bad_args", ["user", "has", "a", "bad"])
    assert parse_address("0xB" + "B" * 39) == "0x" + "b" * 40
    assert parse_address(USER.address.upper().replace("0X", "0x")) == USER.address.lower()


def test_a_signature_in_upper_case_hex_is_accepted_and_lower_cased() -> None:
    assert parse_optional_sig("0x" + "AB" * 65, "sigHub") == "0x" + "ab" * 65


def _thread() -> ThreadState:
    return ThreadState(
        contract_address=CONTRACT,
        sender=USER.address,
        receiver=HUB.address,
        thread_id=1,
        balance_wei_sender=5,
        tx_count=0,
    )


def test_an_unsigned_thread_state_shows_an_empty_sig_a() -> None:
    assert _thread().to_json()["sigA"] == ""
    assert ThreadState.from_json(_thread().to_json()) == _thread()


def test_a_thread_state_with_a_malformed_sig_a_names_the_field() -> None:
    data = {**_thread().to_json(), "sigA": "0x1234"}
    err = rejected(ThreadState.from_json, data)
    assert (err.code, err.message.split()[0]) == ("bad_signature", "sigA")
