"""Each money rule of hub/core/invariants.py, broken alone: `check_invariants` raises
InvariantViolation naming the rule (an operator reads it in the alarm), and the transitions the
rule allows pass. The validators reject these states first, so only a direct call reaches a
rule: these are the tests that prove the last line of defence holds by itself."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from hub.core import ChannelState
from hub.core.errors import InvariantViolation
from hub.core.invariants import (
    check_invariants,
    expected_tx_count_chain,
    negative_or_overflowing_fields,
)
from hub.core.state import UINT256_MAX, ZERO_ROOT
from tests.hub.core.core_factories import OTHER, state

ROOT = "0x" + "ab" * 32
OTHER_ROOT = "0x" + "cd" * 32


def base(**fields: Any) -> ChannelState:
    values: dict[str, Any] = {"balance_wei_hub": 50, "balance_wei_user": 50, "balance_token_hub": 70,
                                 "balance_token_user": 30, "tx_count_global": 5, "tx_count_chain": 2}
    return state(**{**values, **fields})


def next_of(prev: ChannelState, **changes: Any) -> ChannelState:
    return replace(prev, tx_count_global=prev.tx_count_global + 1, **changes)


def violation(prev: ChannelState, new: ChannelState, reason: str, **kwargs: Any) -> str:
    with pytest.raises(InvariantViolation) as raised:
        check_invariants(prev, new, reason, **kwargs)
    return str(raised.value)


def test_a_payment_that_keeps_every_rule_passes_and_is_returned() -> None:
    prev = base()
    new = next_of(prev, balance_wei_hub=60, balance_wei_user=40)
    assert check_invariants(prev, new, "Payment") is new


def test_the_thread_root_is_zero_exactly_when_there_are_no_threads() -> None:
    prev = base(thread_count=1, thread_root=ROOT)
    message = violation(replace(prev, thread_root=ZERO_ROOT), next_of(prev, thread_root=ZERO_ROOT), "Payment")
    assert "threadRoot is zero iff threadCount is zero" in message
    zero = base()
    message = violation(replace(zero, thread_root=ROOT), next_of(zero, thread_root=ROOT), "Payment")
    assert "threadRoot is zero iff threadCount is zero" in message


def test_the_thread_count_moves_only_by_a_thread_update() -> None:
    prev = base(thread_count=1, thread_root=ROOT)
    message = violation(prev, next_of(prev, thread_count=2), "Payment")
    assert "threadCount 1 -> 2" in message
    assert "threadRoot changed" not in message
    # OpenThread: exactly one more; CloseThread: exactly one fewer
    assert check_invariants(prev, next_of(prev, thread_count=2, thread_root=OTHER_ROOT), "OpenThread")
    assert "threadCount 1 -> 3" in violation(prev, next_of(prev, thread_count=3, thread_root=OTHER_ROOT),
                                             "OpenThread")
    assert check_invariants(prev, next_of(prev, thread_count=0, thread_root=ZERO_ROOT), "CloseThread")


def test_the_thread_root_changes_only_with_a_thread_update() -> None:
    prev = base(thread_count=1, thread_root=ROOT)
    message = violation(prev, next_of(prev, thread_root=OTHER_ROOT), "Payment")
    assert "threadRoot changed without a thread update" in message
    assert "threadCount" not in message


def test_an_empty_channel_may_drop_its_threads_but_must_hold_nothing() -> None:
    prev = base(thread_count=2, thread_root=ROOT)
    emptied = replace(prev, balance_wei_hub=0, balance_wei_user=0, balance_token_hub=0, balance_token_user=0,
                      thread_count=0, thread_root=ZERO_ROOT, tx_count_global=9, tx_count_chain=7)
    assert check_invariants(prev, emptied, "EmptyChannel") is emptied
    for field in ("balance_wei_hub", "balance_wei_user", "balance_token_hub", "balance_token_user",
                  "pending_deposit_wei_user", "pending_withdrawal_token_hub"):
        holding: dict[str, Any] = {field: 1}
        message = violation(prev, replace(emptied, **holding), "EmptyChannel")
        assert "an emptied channel still holds value" in message, field


def test_an_empty_channel_must_come_after_the_state_it_replaces() -> None:
    prev = base()
    emptied = replace(prev, balance_wei_hub=0, balance_wei_user=0, balance_token_hub=0, balance_token_user=0)
    assert "txCountGlobal did not increase" in violation(prev, emptied, "EmptyChannel")  # equal
    assert "txCountGlobal did not increase" in violation(prev, replace(emptied, tx_count_global=4),
                                                         "EmptyChannel")
    assert check_invariants(prev, replace(emptied, tx_count_global=6), "EmptyChannel")


def test_fields_outside_uint256_are_named() -> None:
    prev = base()
    # conservation holds (one unit moved from user to hub), only the range is broken
    message = violation(prev, next_of(prev, balance_wei_user=-1, balance_wei_hub=101), "Payment")
    assert "fields out of uint256 range: ['balance_wei_user']" in message
    assert "channel totals" not in message


def test_uint256_bounds_are_inclusive() -> None:
    assert negative_or_overflowing_fields(base(timeout=UINT256_MAX)) == []
    assert negative_or_overflowing_fields(base(timeout=0)) == []
    assert negative_or_overflowing_fields(base(timeout=UINT256_MAX + 1)) == ["timeout"]
    assert negative_or_overflowing_fields(base(thread_count=-1)) == ["thread_count"]


def test_the_channel_identity_never_changes() -> None:
    prev = base()
    for change in ({"user": OTHER.address}, {"contract_address": "0x" + "dd" * 20}):
        message = violation(prev, next_of(prev, **change), "Payment")
        assert "the channel identity changed" in message, change


def test_tx_count_global_moves_by_exactly_one() -> None:
    prev = base()
    assert "txCountGlobal 5 -> 5" in violation(prev, replace(prev, balance_wei_hub=60, balance_wei_user=40),
                                               "Payment")
    assert "txCountGlobal 5 -> 7" in violation(prev, replace(prev, tx_count_global=7), "Payment")


def test_tx_count_chain_follows_the_update() -> None:
    prev = base()
    assert "txCountChain 2 -> 3" in violation(prev, next_of(prev, tx_count_chain=3), "Payment")
    deposit = next_of(prev, pending_deposit_wei_user=10)  # pending operations start: one more
    assert check_invariants(prev, replace(deposit, tx_count_chain=3), "ProposePendingDeposit")
    assert "txCountChain 2 -> 2" in violation(prev, deposit, "ProposePendingDeposit")
    assert expected_tx_count_chain(prev, deposit, "ProposePendingDeposit") == 3
    assert expected_tx_count_chain(replace(prev, pending_deposit_wei_user=10), deposit,
                                   "ProposePendingDeposit") == 2  # already pending: no new one


def test_an_invalidation_steps_back_drops_pending_and_keeps_totals() -> None:
    prev = base(pending_deposit_wei_user=10, tx_count_chain=3)
    undone = next_of(prev, pending_deposit_wei_user=0, tx_count_chain=2)
    assert check_invariants(prev, undone, "Invalidation") is undone
    message = violation(prev, replace(undone, pending_deposit_wei_user=10), "Invalidation")
    assert "an invalidation left pending operations" in message
    message = violation(prev, replace(undone, balance_wei_user=49), "Invalidation")
    assert "invalidation changed the channel totals" in message


def test_a_thread_update_leaves_pending_operations_alone() -> None:
    prev = base(pending_deposit_wei_user=5, tx_count_chain=3)
    opened = next_of(prev, thread_count=1, thread_root=ROOT)
    assert check_invariants(prev, opened, "OpenThread") is opened
    # still pending, but another pending operation: refused as well
    message = violation(prev, replace(opened, pending_deposit_wei_user=6), "OpenThread")
    assert "a thread update changed pending operations" in message
    message = violation(prev, replace(opened, pending_deposit_wei_user=0, tx_count_chain=3), "OpenThread")
    assert "a thread update changed pending operations" in message


def test_a_thread_update_moves_the_totals_by_the_threads_value() -> None:
    prev = base()
    opened = next_of(prev, thread_count=1, thread_root=ROOT, balance_wei_user=40, balance_token_user=25)
    assert check_invariants(prev, opened, "OpenThread", thread_delta=(-10, -5)) is opened
    message = violation(prev, opened, "OpenThread", thread_delta=(-10, -4))
    assert "not by the thread's (-10, -4)" in message


def test_a_payment_conserves_the_channels_value() -> None:
    prev = base()
    message = violation(prev, next_of(prev, balance_token_user=31), "Payment")
    assert "channel totals (wei, token) went from (100, 100) to (100, 101)" in message


def test_every_broken_rule_is_reported_together_with_the_reason_and_both_states() -> None:
    prev = base()
    message = violation(prev, replace(prev, user=OTHER.address, balance_wei_user=51), "Payment")
    assert message.startswith("Payment: ")
    assert "the channel identity changed; txCountGlobal 5 -> 5; channel totals" in message
    assert repr(prev) in message and "txG=5" in message


def test_an_empty_channels_tx_count_chain_comes_from_the_contract() -> None:
    prev = base()
    assert expected_tx_count_chain(prev, next_of(prev, tx_count_chain=9), "EmptyChannel") is None
    assert expected_tx_count_chain(prev, next_of(prev, pending_deposit_wei_user=1), "EmptyChannel") is None
