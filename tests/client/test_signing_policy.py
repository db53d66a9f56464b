"""SigningPolicy decisions on crafted hub proposals (states built and hub-signed with hub.core)."""

from __future__ import annotations

from typing import Any

import pytest
from spoke_client import (
    DepositRequest,
    ExchangeRequest,
    PolicyContext,
    SigningPolicy,
    WithdrawalRequest,
)

from hub.core import (
    DidUpdateChannel,
    HubRate,
    WithdrawalArgs,
    apply_update,
)

from .factories import (
    CONTRACT,
    E18,
    HUB,
    NOW,
    OTHER,
    RATE,
    USER,
    funded,
    hub_signed,
    proposal,
    state,
)

POLICY = SigningPolicy()


def ctx(**fields: Any) -> PolicyContext:
    base: dict[str, Any] = {"now": NOW, "hub_address": HUB.address,
                            "reference_rate": HubRate(RATE, NOW - 60)}
    base.update(fields)
    return PolicyContext(**base)


def hub_sig_for(prev: Any, reason: str, args: dict[str, Any], **kw: Any) -> str:
    new = apply_update(prev, reason, args, now=NOW, **kw)
    sig = hub_signed(new).sig_hub
    assert sig is not None
    return sig


# ---- Payment ------------------------------------------------------------------------------

def test_hub_to_user_payment_is_accepted_and_the_state_is_generated_locally() -> None:
    prev = funded()
    args = {"recipient": "user", "amountWei": "0", "amountToken": str(5 * E18)}
    upd = proposal("Payment", args, tx_count=6, sig_hub=hub_sig_for(prev, "Payment", args))
    decision = POLICY.evaluate(prev, upd, ctx())
    assert decision.accept, decision
    assert decision.state is not None
    assert decision.state.balance_token_user == 105 * E18
    assert decision.state.balance_token_hub == 295 * E18
    assert decision.state.tx_count_global == 6


def test_payment_from_user_to_hub_proposed_by_the_hub_is_refused() -> None:
    prev = funded()
    args = {"recipient": "hub", "amountWei": "0", "amountToken": str(5 * E18)}
    upd = proposal("Payment", args, tx_count=6, sig_hub=hub_sig_for(prev, "Payment", args))
    decision = POLICY.evaluate(prev, upd, ctx())
    assert not decision.accept
    assert decision.code == "policy_unrequested_payment"


def test_payment_signed_by_another_key_is_refused() -> None:
    prev = funded()
    args = {"recipient": "user", "amountWei": "0", "amountToken": "1"}
    forged = OTHER.sign_channel_state(apply_update(prev, "Payment", args, now=NOW)).sig_hub
    decision = POLICY.evaluate(prev, proposal("Payment", args, tx_count=6, sig_hub=forged), ctx())
    assert (decision.accept, decision.code) == (False, "bad_signature")


def test_hub_payment_beyond_the_hubs_balance_is_refused() -> None:
    prev = funded()
    args = {"recipient": "user", "amountWei": "0", "amountToken": str(301 * E18)}
    # the hub signs whatever it likes; the wallet regenerates and refuses
    decision = POLICY.evaluate(prev, proposal("Payment", args, tx_count=6, sig_hub="0x" + "ab" * 65), ctx())
    assert (decision.accept, decision.code) == (False, "insufficient_balance")


def test_hub_signature_over_a_different_state_is_refused() -> None:
    prev = funded()
    args = {"recipient": "user", "amountWei": "0", "amountToken": "10"}
    other_args = {"recipient": "user", "amountWei": "0", "amountToken": "1"}
    upd = proposal("Payment", args, tx_count=6, sig_hub=hub_sig_for(prev, "Payment", other_args))
    assert POLICY.evaluate(prev, upd, ctx()).code == "bad_signature"


def test_proposal_with_a_skipped_tx_count_is_refused() -> None:
    prev = funded()
    args = {"recipient": "user", "amountWei": "0", "amountToken": "1"}
    upd = proposal("Payment", args, tx_count=7, sig_hub=hub_sig_for(prev, "Payment", args))
    assert POLICY.evaluate(prev, upd, ctx()).code == "tx_count_global"


def test_hub_payments_can_be_switched_off() -> None:
    prev = funded()
    args = {"recipient": "user", "amountWei": "0", "amountToken": "1"}
    upd = proposal("Payment", args, tx_count=6, sig_hub=hub_sig_for(prev, "Payment", args))
    assert SigningPolicy(accept_hub_payments=False).evaluate(prev, upd, ctx()).code == "policy_disabled"


# ---- ConfirmPending -----------------------------------------------------------------------

def pending_deposit() -> Any:
    return USER.sign_state(hub_signed(state(
        tx_count_global=6, tx_count_chain=2, balance_wei_hub=E18, balance_token_hub=10 * E18,
        pending_deposit_wei_user=E18, pending_deposit_token_hub=200 * E18, timeout=NOW + 300,
    )))


def event_for(prev: Any, **changes: Any) -> DidUpdateChannel:
    fields: dict[str, Any] = {
        "contract_address": CONTRACT,
        "user": USER.address,
        "sender_idx": 1,
        "wei_balances": (prev.balance_wei_hub, prev.balance_wei_user),
        "token_balances": (prev.balance_token_hub, prev.balance_token_user),
        "pending_wei_updates": (prev.pending_deposit_wei_hub, prev.pending_withdrawal_wei_hub,
                                prev.pending_deposit_wei_user, prev.pending_withdrawal_wei_user),
        "pending_token_updates": (prev.pending_deposit_token_hub, prev.pending_withdrawal_token_hub,
                                  prev.pending_deposit_token_user, prev.pending_withdrawal_token_user),
        "tx_count": (prev.tx_count_global, prev.tx_count_chain),
        "thread_root": prev.thread_root,
        "thread_count": prev.thread_count,
    }
    fields.update(changes)
    return DidUpdateChannel(**fields)


def confirm(prev: Any, event: DidUpdateChannel | None) -> Any:
    args = {"transactionHash": "0x" + "ee" * 32}
    sig = hub_signed(apply_update(prev, "ConfirmPending", args, now=NOW, event=event_for(prev))).sig_hub
    return POLICY.evaluate(prev, proposal("ConfirmPending", args, tx_count=7, sig_hub=sig),
                           ctx(event=event))


def test_confirm_pending_that_matches_the_chain_event_is_accepted() -> None:
    prev = pending_deposit()
    decision = confirm(prev, event_for(prev))
    assert decision.accept, decision
    assert decision.state is not None
    assert (decision.state.balance_wei_user, decision.state.balance_token_hub) == (E18, 210 * E18)
    assert not decision.state.has_pending_ops and decision.state.timeout == 0


def test_confirm_pending_without_a_chain_event_is_refused() -> None:
    decision = confirm(pending_deposit(), None)
    assert (decision.accept, decision.code) == (False, "bad_event")


def test_confirm_pending_whose_event_has_other_amounts_is_refused() -> None:
    prev = pending_deposit()
    decision = confirm(prev, event_for(prev, pending_wei_updates=(0, 0, 1, 0)))
    assert (decision.accept, decision.code) == (False, "bad_event")


# ---- Exchange -----------------------------------------------------------------------------

def exchange_args(rate: str = RATE, wei: int = E18 // 10) -> dict[str, Any]:
    return {"seller": "user", "exchangeRate": rate, "weiToSell": str(wei), "tokensToSell": "0"}


def test_requested_exchange_within_the_rate_band_is_accepted() -> None:
    decision = POLICY.evaluate(funded(), proposal("Exchange", exchange_args("201"), tx_count=None),
                               ctx(exchange=ExchangeRequest(E18 // 10, 0)))
    assert decision.accept, decision
    assert decision.state is not None
    assert decision.state.balance_token_user == 100 * E18 + 20 * E18 + E18 // 10
    assert decision.state.balance_wei_user == E18 - E18 // 10


def test_exchange_outside_the_rate_band_is_refused() -> None:
    decision = POLICY.evaluate(funded(), proposal("Exchange", exchange_args("190"), tx_count=None),
                               ctx(exchange=ExchangeRequest(E18 // 10, 0)))
    assert (decision.accept, decision.code) == (False, "rate_out_of_range")


def test_unrequested_exchange_is_refused() -> None:
    decision = POLICY.evaluate(funded(), proposal("Exchange", exchange_args(), tx_count=None), ctx())
    assert (decision.accept, decision.code) == (False, "policy_unrequested_exchange")


def test_exchange_selling_more_than_requested_is_refused() -> None:
    decision = POLICY.evaluate(funded(), proposal("Exchange", exchange_args(wei=E18 // 2), tx_count=None),
                               ctx(exchange=ExchangeRequest(E18 // 10, 0)))
    assert (decision.accept, decision.code) == (False, "policy_exchange_mismatch")


# ---- deposits -----------------------------------------------------------------------------

def collateral_args(**fields: Any) -> dict[str, Any]:
    base = {"depositWeiHub": "0", "depositWeiUser": "0", "depositTokenHub": str(50 * E18),
            "depositTokenUser": "0", "timeout": 0}
    base.update(fields)
    return base


def test_hub_collateral_deposit_is_accepted() -> None:
    decision = POLICY.evaluate(funded(), proposal("ProposePendingDeposit", collateral_args(), tx_count=None), ctx())
    assert decision.accept, decision
    assert decision.state is not None
    assert decision.state.pending_deposit_token_hub == 50 * E18
    assert decision.state.tx_count_chain == 2


def test_hub_deposit_that_creates_a_user_deposit_is_refused() -> None:
    upd = proposal("ProposePendingDeposit", collateral_args(depositWeiUser="1"), tx_count=None)
    assert POLICY.evaluate(funded(), upd, ctx()).code == "policy_user_deposit_without_request"


def user_deposit(prev: Any, wei: int, timeout: int) -> Any:
    args = {"depositWeiHub": "0", "depositWeiUser": str(wei), "depositTokenHub": "0",
            "depositTokenUser": "0", "timeout": timeout,
            "sigUser": USER.sign_deposit_request(amount_wei=wei, amount_token=0)}
    return proposal("ProposePendingDeposit", args, tx_count=prev.tx_count_global + 1,
                    sig_hub=hub_sig_for(prev, "ProposePendingDeposit", args))


def test_requested_user_deposit_is_accepted() -> None:
    prev = funded()
    decision = POLICY.evaluate(prev, user_deposit(prev, E18, NOW + 300), ctx(deposit=DepositRequest(E18, 0)))
    assert decision.accept, decision
    assert decision.state is not None and decision.state.pending_deposit_wei_user == E18


def test_user_deposit_of_another_amount_is_refused() -> None:
    prev = funded()
    decision = POLICY.evaluate(prev, user_deposit(prev, E18, NOW + 300), ctx(deposit=DepositRequest(2 * E18, 0)))
    assert decision.code == "policy_deposit_mismatch"


def test_user_deposit_with_a_far_timeout_is_refused() -> None:
    prev = funded()
    decision = POLICY.evaluate(prev, user_deposit(prev, E18, NOW + 3600), ctx(deposit=DepositRequest(E18, 0)))
    assert decision.code == "policy_bad_timeout"


# ---- withdrawals --------------------------------------------------------------------------

def withdrawal_args(prev: Any, **changes: Any) -> dict[str, Any]:
    """What a hub would propose for 'withdraw 0.5 ETH to the user, keep the rest'."""
    base = WithdrawalArgs(
        seller="user", exchange_rate=RATE, tokens_to_sell=0, wei_to_sell=0,
        recipient=USER.address, target_wei_user=prev.balance_wei_user - E18 // 2,
        target_token_user=prev.balance_token_user, target_wei_hub=prev.balance_wei_hub,
        target_token_hub=prev.balance_token_hub, timeout=NOW + 300,
    ).to_json()
    base.update(changes)
    return base


WITHDRAW_HALF = WithdrawalRequest(recipient=USER.address, withdrawal_wei_user=E18 // 2)


def test_requested_withdrawal_is_accepted() -> None:
    prev = funded()
    decision = POLICY.evaluate(prev, proposal("ProposePendingWithdrawal", withdrawal_args(prev), tx_count=None),
                               ctx(withdrawal=WITHDRAW_HALF))
    assert decision.accept, decision
    assert decision.state is not None
    assert decision.state.pending_withdrawal_wei_user == E18 // 2
    assert decision.state.balance_wei_user == E18 // 2


def test_withdrawal_to_another_recipient_is_refused() -> None:
    prev = funded()
    upd = proposal("ProposePendingWithdrawal", withdrawal_args(prev, recipient=OTHER.address), tx_count=None)
    assert POLICY.evaluate(prev, upd, ctx(withdrawal=WITHDRAW_HALF)).code == "policy_withdrawal_mismatch"


def test_withdrawal_that_pays_out_less_than_requested_is_refused() -> None:
    prev = funded()
    # only 0.25 ETH leaves for the recipient; the other 0.25 stays in the user's balance
    args = withdrawal_args(prev, targetWeiUser=str(prev.balance_wei_user - E18 // 4))
    upd = proposal("ProposePendingWithdrawal", args, tx_count=None)
    decision = POLICY.evaluate(prev, upd, ctx(withdrawal=WITHDRAW_HALF))
    assert (decision.accept, decision.code) == (False, "policy_withdrawal_value")


def test_withdrawal_that_sells_unrequested_tokens_is_refused() -> None:
    prev = funded()
    args = withdrawal_args(prev, tokensToSell=str(10 * E18))
    upd = proposal("ProposePendingWithdrawal", args, tx_count=None)
    decision = POLICY.evaluate(prev, upd, ctx(withdrawal=WITHDRAW_HALF))
    assert (decision.accept, decision.code) == (False, "policy_withdrawal_mismatch")


def test_unrequested_withdrawal_is_refused() -> None:
    prev = funded()
    upd = proposal("ProposePendingWithdrawal", withdrawal_args(prev), tx_count=None)
    assert POLICY.evaluate(prev, upd, ctx()).code == "policy_unrequested_withdrawal"


# ---- invalidation and the rest ------------------------------------------------------------

def expired_deposit() -> Any:
    return USER.sign_state(hub_signed(state(
        tx_count_global=6, tx_count_chain=2, balance_wei_hub=E18,
        pending_deposit_wei_user=E18, timeout=NOW - 10,
    )))


def invalidation(prev: Any) -> Any:
    args = {"invalidTxCount": prev.tx_count_global, "reason": "CU_INVALID_TIMEOUT"}
    return proposal("Invalidation", args, tx_count=prev.tx_count_global + 1,
                    sig_hub=hub_sig_for(prev, "Invalidation", args))


def test_invalidation_of_an_update_that_never_reached_the_chain_is_accepted() -> None:
    prev = expired_deposit()
    decision = POLICY.evaluate(prev, invalidation(prev), ctx(onchain_tx_count_global=5))
    assert decision.accept, decision
    assert decision.state is not None
    assert not decision.state.has_pending_ops and decision.state.tx_count_chain == 1


def test_invalidation_of_an_update_already_on_chain_is_refused() -> None:
    prev = expired_deposit()
    decision = POLICY.evaluate(prev, invalidation(prev), ctx(onchain_tx_count_global=6))
    assert decision.code == "policy_reached_chain"


def test_invalidation_before_the_timeout_is_refused() -> None:
    prev = expired_deposit()
    decision = POLICY.evaluate(prev, invalidation(prev), ctx(now=NOW - 20, onchain_tx_count_global=5))
    assert decision.code == "timeout_not_expired"


def test_an_unknown_reason_is_refused() -> None:
    decision = POLICY.evaluate(funded(), proposal("Bogus", {}, tx_count=6, sig_hub=None), ctx())
    assert not decision.accept
    assert decision.code == "unknown_reason"


@pytest.mark.parametrize("reason", ["OpenThread", "CloseThread"])
def test_thread_updates_the_sdk_cannot_check_are_refused(reason: str) -> None:
    # The SDK has no thread support: a malformed thread update is refused by the core's checks.
    decision = POLICY.evaluate(funded(), proposal(reason, {}, tx_count=6, sig_hub=None), ctx())
    assert not decision.accept
    assert decision.code == "bad_args"
