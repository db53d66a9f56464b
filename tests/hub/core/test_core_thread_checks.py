"""The thread checks' edges (issue 22, mutation): which code a wrong thread update gets when more
than one rule is broken, the hub as a thread party, and what the thread generators reset."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from core_factories import CONTRACT, HUB, OTHER, USER, signed, state

from hub.core import (
    ThreadArgs,
    ThreadState,
    UpdateRejected,
    apply_update,
    thread_payment,
    thread_root,
    thread_value,
)
from hub.core.args import parse_args
from hub.core.threads import (
    check_thread_transition,
    close_thread,
    open_thread,
    validate_thread_payment,
)

TOKEN = 10**18


def initial(*, sender: Any = USER, receiver: Any = OTHER, thread_id: int = 1,
            contract: str = CONTRACT) -> ThreadState:
    return sender.sign_thread_state(ThreadState(
        contract_address=contract, sender=sender.address, receiver=receiver.address,
        thread_id=thread_id, balance_token_sender=10 * TOKEN))


def resign(t: ThreadState, **changes: Any) -> ThreadState:
    """`t` with `changes`, signed again by its sender (USER or OTHER)."""
    signer = USER if t.sender == USER.address else OTHER
    return signer.sign_thread_state(dataclasses.replace(t, sig_a=None, **changes))


def rejected(call: Any, *args: Any, **kw: Any) -> UpdateRejected:
    with pytest.raises(UpdateRejected) as err:
        call(*args, **kw)
    # the code is the contract; the message beside it is a readable explanation, never empty
    assert isinstance(err.value.message, str) and err.value.message
    return err.value


@pytest.mark.parametrize("other", [
    initial(thread_id=2),
    initial(receiver=HUB.__class__("0x" + "44" * 32)),
    initial(sender=OTHER, receiver=USER),
    initial(contract="0x" + "dd" * 20),
])
def test_an_update_of_another_thread_is_wrong_channel(other: ThreadState) -> None:
    t = initial()
    one = resign(thread_payment(other, 0, TOKEN))
    assert rejected(validate_thread_payment, t, one, hub_address=HUB.address).code == "wrong_channel"
    assert rejected(check_thread_transition, t, other, strict=False).code == "wrong_channel"


def test_a_falling_thread_tx_count_is_refused_even_when_not_strict() -> None:
    t = initial()
    two = resign(t, tx_count=2)
    assert rejected(check_thread_transition, two, resign(t, tx_count=1), strict=False).code \
        == "tx_count_global"
    check_thread_transition(two, two, strict=False)  # equal is fine when not strict


def test_a_replayed_thread_tx_count_is_reported_before_the_balances() -> None:
    """A thread payment with the previous txCount and the receiver's balance lower: the stale
    txCount is the reason (strict transition), not the falling balance."""
    one = resign(thread_payment(initial(), 0, TOKEN))
    stale = resign(one, balance_token_sender=10 * TOKEN, balance_token_receiver=0)
    assert rejected(validate_thread_payment, one, stale, hub_address=HUB.address).code \
        == "tx_count_global"


def test_the_hub_cannot_be_a_thread_payments_party() -> None:
    t = initial(receiver=HUB)
    one = resign(thread_payment(t, 0, TOKEN))
    assert validate_thread_payment(t, one, hub_address=None) == one  # only the hub knows itself
    assert rejected(validate_thread_payment, t, one, hub_address=HUB.address).code == "bad_args"


def test_closing_a_thread_whose_initial_state_names_the_hub_is_bad_args() -> None:
    """The channel's stored initial state is checked for the hub as a party before its
    signature: bad_args, not bad_signature."""
    t = dataclasses.replace(initial(receiver=HUB), sig_a=OTHER.sign_thread_state(initial()).sig_a)
    prev = signed(state(balance_token_user=40 * TOKEN, thread_count=1, thread_root=thread_root([t])))
    err = rejected(apply_update, prev, "CloseThread", t.to_json(), now=0, initial_threads=[t],
                   hub_address=HUB.address)
    assert err.code == "bad_args"


def test_the_thread_generators_reset_the_timeout_and_the_signature() -> None:
    t = initial()
    with_timeout = signed(state(balance_token_user=50 * TOKEN, timeout=5, pending_deposit_wei_user=1))
    opened = open_thread(with_timeout, [], t)
    assert (opened.timeout, opened.sig_hub, opened.sig_user) == (0, None, None)
    closed = close_thread(with_timeout.replace(thread_count=1, thread_root=thread_root([t])), [t], t)
    assert (closed.timeout, closed.thread_count, closed.balance_token_user) == (0, 0, 60 * TOKEN)
    paid = thread_payment(t, 0, TOKEN)
    assert t.sig_a is not None and paid.sig_a is None
    assert (paid.tx_count, paid.balance_token_sender, paid.balance_token_receiver) \
        == (1, 9 * TOKEN, TOKEN)


@pytest.mark.parametrize("reason", ["OpenThread", "CloseThread"])
def test_thread_args_are_a_thread_state_object(reason: str) -> None:
    t = initial()
    assert parse_args(reason, t.to_json()) == ThreadArgs(t)
    for data in (None, [t.to_json()], "thread", 1):
        assert rejected(parse_args, reason, data).code == "bad_args"


def test_a_thread_in_wei_keeps_its_value_through_a_payment() -> None:
    t = USER.sign_thread_state(ThreadState(
        contract_address=CONTRACT, sender=USER.address, receiver=OTHER.address, thread_id=1,
        balance_wei_sender=5, balance_token_sender=7))
    one = resign(thread_payment(t, 2, 3))
    assert thread_value(t) == thread_value(one) == (5, 7)
    assert validate_thread_payment(t, one, hub_address=HUB.address) == one


def test_the_contract_cannot_be_a_thread_party() -> None:
    contract = type("Party", (), {"address": CONTRACT})()
    t = initial(receiver=contract)
    assert rejected(validate_thread_payment, t, resign(thread_payment(t, 0, TOKEN)),
                    hub_address=HUB.address).code == "bad_args"


def test_duplicate_initial_thread_states_do_not_match_the_root() -> None:
    t = initial()
    prev = signed(state(balance_token_user=40 * TOKEN, thread_count=2, thread_root=thread_root([t, t])))
    err = rejected(apply_update, prev, "CloseThread", t.to_json(), now=0, initial_threads=[t, t],
                   hub_address=HUB.address)
    assert err.code == "thread_root_mismatch"


@pytest.mark.parametrize(("fields", "thread", "in_receivers_channel"), [
    ({"balance_wei_user": 4}, {"balance_wei_sender": 5, "balance_token_sender": 0}, False),
    ({"balance_wei_hub": 4}, {"balance_wei_sender": 5, "balance_token_sender": 0}, True),
    ({"balance_token_hub": 4}, {"balance_token_sender": 5}, True),
])
def test_a_thread_its_funder_cannot_cover_is_insufficient_balance(
        fields: dict[str, Any], thread: dict[str, Any], in_receivers_channel: bool) -> None:
    t = resign(initial(), **thread)
    if in_receivers_channel:
        prev = signed(state(user=OTHER.address, recipient=OTHER.address, **fields), user=False)
    else:
        prev = signed(state(**fields))
    err = rejected(apply_update, prev, "OpenThread", t.to_json(), now=0, initial_threads=[],
                   hub_address=HUB.address)
    assert err.code == "insufficient_balance"
    enough = {k: v + 1 for k, v in fields.items()}
    prev = prev.replace(**enough)
    assert apply_update(prev, "OpenThread", t.to_json(), now=0, initial_threads=[],
                        hub_address=HUB.address).thread_count == 1


def test_a_thread_between_two_other_users_is_wrong_channel_in_this_one() -> None:
    third = HUB.__class__("0x" + "55" * 32)
    theirs = initial(sender=OTHER, receiver=third)
    prev = signed(state(balance_token_user=40 * TOKEN))
    for reason, threads in (("OpenThread", []), ("CloseThread", [theirs])):
        err = rejected(apply_update, prev, reason, theirs.to_json(), now=0, initial_threads=threads,
                       hub_address=HUB.address)
        assert err.code == "wrong_channel", reason


def test_initial_thread_states_that_are_not_the_channels_root_are_refused() -> None:
    t, other = initial(), initial(thread_id=2)
    prev = signed(state(balance_token_user=40 * TOKEN, thread_count=1, thread_root=thread_root([other])))
    err = rejected(apply_update, prev, "CloseThread", t.to_json(), now=0, initial_threads=[t],
                   hub_address=HUB.address)
    assert err.code == "thread_root_mismatch"
    # one state too many or too few for the channel's threadCount
    for threads in ([], [other, t]):
        err = rejected(apply_update, prev, "CloseThread", other.to_json(), now=0, initial_threads=threads,
                       hub_address=HUB.address)
        assert err.code == "thread_root_mismatch", len(threads)
    assert apply_update(prev, "CloseThread", other.to_json(), now=0, initial_threads=[other],
                        hub_address=HUB.address).thread_count == 0
