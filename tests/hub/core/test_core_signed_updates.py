"""EmptyChannel in full (the state the contract left, and every event that must be refused) and
`validate_signed_update` handing every piece of context to the generator: a signed state is
accepted only when it is exactly what the update generates with the block time, the hub's rate,
the on-chain event, the invalidated withdrawal and the hub's address it was given."""

from __future__ import annotations

from typing import Any

import pytest
from core_factories import CONTRACT, HUB, NOW, OTHER, USER, signed, state, withdrawal

from hub.core import (
    ChannelState,
    DidEmptyChannel,
    DidUpdateChannel,
    HubRate,
    ThreadState,
    UpdateRejected,
    apply_update,
    transitions,
    validate_signed_update,
)

TX = {"transactionHash": "0x" + "ab" * 32}
ROOT = "0x" + "77" * 32
RATE = HubRate("5", NOW - 60)
FUNDED = signed(state(balance_wei_hub=100, balance_wei_user=50, balance_token_hub=500, balance_token_user=70,
                      tx_count_global=4, tx_count_chain=2))


def emptied(prev: ChannelState, **over: Any) -> DidEmptyChannel:
    fields: dict[str, Any] = dict(contract_address=CONTRACT, user=prev.user, sender_idx=1,
                                  wei_balances=(0, 0), token_balances=(0, 0),
                                  tx_count=(prev.tx_count_global, prev.tx_count_chain + 1),
                                  thread_root=prev.thread_root, thread_count=0)
    fields.update(over)
    return DidEmptyChannel(**fields)


def code_of(prev: ChannelState, reason: str, args: Any, **kw: Any) -> str:
    kw.setdefault("now", NOW)
    with pytest.raises(UpdateRejected) as err:
        apply_update(prev, reason, args, **kw)
    return err.value.code


def test_empty_channel_takes_every_field_from_the_event_one_nonce_later() -> None:
    prev = FUNDED.replace(timeout=NOW, recipient=OTHER.address)
    event = emptied(prev, wei_balances=(1, 2), token_balances=(3, 4), tx_count=(7, 5),
                    thread_root=ROOT, thread_count=2)
    new = transitions.empty_channel(prev, event)
    assert new == ChannelState(contract_address=CONTRACT, user=USER.address.lower(),
                               recipient=USER.address.lower(), balance_wei_hub=1, balance_wei_user=2,
                               balance_token_hub=3, balance_token_user=4, tx_count_global=8,
                               tx_count_chain=5, thread_root=ROOT, thread_count=2, timeout=0)


@pytest.mark.parametrize("sender_idx", [0, 1])
def test_empty_channel_accepts_either_party_emptying_it_at_the_same_nonce(sender_idx: int) -> None:
    event = emptied(FUNDED, sender_idx=sender_idx, user=FUNDED.user.upper().replace("0X", "0x"),
                    contract_address=CONTRACT.upper().replace("0X", "0x"))
    new = apply_update(FUNDED, "EmptyChannel", TX, now=NOW, event=event)
    assert (new.balance_wei_hub, new.balance_token_user, new.tx_count_global, new.tx_count_chain) == (0, 0, 5, 3)


@pytest.mark.parametrize(("event", "code"), [
    (None, "bad_event"),
    (DidUpdateChannel(contract_address=CONTRACT, user=USER.address, sender_idx=1, wei_balances=(0, 0),
                      token_balances=(0, 0), pending_wei_updates=(0, 0, 0, 0),
                      pending_token_updates=(0, 0, 0, 0), tx_count=(4, 3), thread_root=ROOT,
                      thread_count=0), "bad_event"),
    (emptied(FUNDED, sender_idx=2), "bad_event"),
    (emptied(FUNDED, wei_balances=(1, 0)), "bad_event"),
    (emptied(FUNDED, token_balances=(1, 0)), "bad_event"),
    (emptied(FUNDED, token_balances=(0, 1)), "bad_event"),
    (emptied(FUNDED, tx_count=(3, 3)), "bad_event"),
    (emptied(FUNDED, contract_address="0x" + "dd" * 20), "wrong_channel"),
], ids=["no-event", "update-event", "sender-2", "hub-wei", "hub-token", "user-token", "older", "contract"])
def test_empty_channel_refuses_an_event_that_does_not_empty_this_channel(event: Any, code: str) -> None:
    assert code_of(FUNDED, "EmptyChannel", TX, event=event) == code


def test_a_signed_empty_channel_needs_the_event_it_was_generated_from() -> None:
    event = emptied(FUNDED)
    new = signed(apply_update(FUNDED, "EmptyChannel", TX, now=NOW, event=event), hub=False)
    assert validate_signed_update(FUNDED, new, "EmptyChannel", TX, hub_address=HUB.address, now=NOW,
                                  event=event) == new
    with pytest.raises(UpdateRejected):
        validate_signed_update(FUNDED, new, "EmptyChannel", TX, hub_address=HUB.address, now=NOW)


def test_a_signed_deposit_is_judged_against_the_block_time_given() -> None:
    args = {"depositWeiHub": "0", "depositWeiUser": "5", "depositTokenHub": "0", "depositTokenUser": "0",
            "timeout": NOW + 10}
    new = signed(apply_update(FUNDED, "ProposePendingDeposit", args, now=NOW), hub=False)
    assert validate_signed_update(FUNDED, new, "ProposePendingDeposit", args, hub_address=HUB.address,
                                  now=NOW) == new
    with pytest.raises(UpdateRejected) as err:
        validate_signed_update(FUNDED, new, "ProposePendingDeposit", args, hub_address=HUB.address,
                               now=NOW + 10)
    assert err.value.code == "timeout_expired"


def test_a_signed_exchange_is_judged_at_the_hub_rate_given() -> None:
    args = {"seller": "user", "exchangeRate": "5", "weiToSell": "10", "tokensToSell": "0"}
    new = signed(apply_update(FUNDED, "Exchange", args, now=NOW, hub_rate=RATE), hub=False)
    assert validate_signed_update(FUNDED, new, "Exchange", args, hub_address=HUB.address, now=NOW,
                                  hub_rate=RATE) == new
    with pytest.raises(UpdateRejected):
        validate_signed_update(FUNDED, new, "Exchange", args, hub_address=HUB.address, now=NOW,
                               hub_rate=HubRate("6", NOW - 60))


def test_a_signed_invalidation_of_a_withdrawal_restores_what_that_withdrawal_took() -> None:
    before = signed(state(balance_token_hub=100, balance_wei_user=4))
    wd = withdrawal(seller="user", wei_to_sell=4, target_wei_hub=4, target_token_hub=80, timeout=NOW + 300)
    pending = signed(apply_update(before, "ProposePendingWithdrawal", wd.to_json(), now=NOW, hub_rate=RATE))
    args = {"invalidTxCount": pending.tx_count_global, "reason": "CU_INVALID_TIMEOUT",
            "withdrawal": wd.to_json()}
    new = signed(apply_update(pending, "Invalidation", args, now=NOW + 301, invalidated_withdrawal=wd),
                 hub=False)
    assert new.balance_wei_user == 4 and new.balance_token_hub == 100
    assert validate_signed_update(pending, new, "Invalidation", args, hub_address=HUB.address,
                                  now=NOW + 301, invalidated_withdrawal=wd) == new


def test_a_signed_thread_opening_with_the_hub_as_a_party_is_refused() -> None:
    prev = signed(state(balance_token_user=50, balance_token_hub=5))
    thread = USER.sign_thread_state(ThreadState(contract_address=CONTRACT, sender=USER.address,
                                                receiver=HUB.address, thread_id=1, balance_wei_sender=0,
                                                balance_token_sender=10))
    lax = signed(apply_update(prev, "OpenThread", thread.to_json(), now=0, initial_threads=[]), hub=False)
    with pytest.raises(UpdateRejected) as err:
        validate_signed_update(prev, lax, "OpenThread", thread.to_json(), hub_address=HUB.address,
                               now=0, initial_threads=[])
    assert err.value.code == "bad_args"


def test_a_hub_signature_that_is_present_is_checked_even_when_not_required() -> None:
    new = apply_update(FUNDED, "Payment", {"recipient": "hub", "amountWei": "1", "amountToken": "0"}, now=NOW)
    forged = OTHER.sign_channel_state(signed(new, hub=False), as_party="hub")
    with pytest.raises(UpdateRejected) as err:
        validate_signed_update(FUNDED, forged, "Payment", {"recipient": "hub", "amountWei": "1",
                                                           "amountToken": "0"},
                               hub_address=HUB.address, now=NOW, require_hub_sig=False)
    assert (err.value.code, err.value.message.split(" ")[0]) == ("bad_signature", "hub")
