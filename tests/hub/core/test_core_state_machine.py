"""Random sequences of updates on one channel, checking the money rules after every step."""

from __future__ import annotations

from typing import Any

from core_factories import NOW, did_update, signed, state, withdrawal
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hub.core import (
    ChannelState,
    HubRate,
    UpdateRejected,
    WithdrawalArgs,
    apply_update,
    channel_totals,
)
from hub.core.invariants import negative_or_overflowing_fields

amounts = st.one_of(st.integers(0, 50), st.integers(0, 10**21))
rates = st.sampled_from(["5", "5.05", "4.95", "5.1"])
parties = st.sampled_from(["hub", "user"])

# Rejections a random request may legitimately get; anything else is a test failure.
EXPECTED = {
    "insufficient_balance",
    "pending_timeout",
    "pending_operations",
    "bad_args",
    "withdrawal_not_reversible",
}


class ChannelMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.state: ChannelState = signed(state(tx_count_global=0, tx_count_chain=0))
        self.onchain = (0, 0)  # (wei, token) the contract holds for this channel
        self.withdrawal: WithdrawalArgs | None = None
        self.steps = 0

    def _apply(self, reason: str, args: Any, **kw: Any) -> bool:
        before = self.state
        try:
            new = apply_update(
                before, reason, args, now=self.now, hub_rate=HubRate("5", self.now), **kw
            )
        except UpdateRejected as err:
            assert err.code in EXPECTED, (reason, err)
            return False
        assert new.tx_count_global == before.tx_count_global + 1
        if reason == "Invalidation":
            assert new.tx_count_chain == before.tx_count_chain - 1
        elif new.has_pending_ops and not before.has_pending_ops:
            assert new.tx_count_chain == before.tx_count_chain + 1
        else:
            assert new.tx_count_chain == before.tx_count_chain
        self.state = signed(new)
        self.steps += 1
        event(f"applied {reason}")
        return True

    @precondition(lambda self: not self.state.has_pending_ops)
    @rule(wei=amounts, token=amounts, hub_token=amounts, user_initiated=st.booleans())
    def propose_deposit(self, wei: int, token: int, hub_token: int, user_initiated: bool) -> None:
        args: dict[str, Any] = {
            "depositWeiHub": "0",
            "depositWeiUser": str(wei),
            "depositTokenHub": str(hub_token),
            "depositTokenUser": str(token),
            "timeout": self.now + 300 if user_initiated else 0,
        }
        if self._apply("ProposePendingDeposit", args):
            self.withdrawal = None

    @precondition(lambda self: not self.state.has_pending_ops)
    @rule(
        tokens=amounts,
        wei_keep=amounts,
        token_keep=amounts,
        hub_wei=amounts,
        hub_token=amounts,
        rate=rates,
        seller=parties,
        sell_wei=st.booleans(),
    )
    def propose_withdrawal(
        self,
        tokens: int,
        wei_keep: int,
        token_keep: int,
        hub_wei: int,
        hub_token: int,
        rate: str,
        seller: str,
        sell_wei: bool,
    ) -> None:
        s = self.state
        wd = withdrawal(
            seller=seller,
            exchange_rate=rate,
            tokens_to_sell=0 if sell_wei else tokens,
            wei_to_sell=tokens if sell_wei else 0,
            target_wei_user=min(wei_keep, s.balance_wei_user),
            target_token_user=min(token_keep, s.balance_token_user),
            target_wei_hub=hub_wei,
            target_token_hub=hub_token,
            timeout=self.now + 300,
        )
        if self._apply("ProposePendingWithdrawal", wd):
            self.withdrawal = wd

    @precondition(lambda self: self.state.has_pending_ops)
    @rule()
    def confirm(self) -> None:
        s = self.state
        event = did_update(s)
        delta = (
            s.pending_deposit_wei_hub
            + s.pending_deposit_wei_user
            - s.pending_withdrawal_wei_hub
            - s.pending_withdrawal_wei_user,
            s.pending_deposit_token_hub
            + s.pending_deposit_token_user
            - s.pending_withdrawal_token_hub
            - s.pending_withdrawal_token_user,
        )
        assert self._apply("ConfirmPending", {"transactionHash": "0x" + "ab" * 32}, event=event)
        self.onchain = (self.onchain[0] + delta[0], self.onchain[1] + delta[1])
        self.withdrawal = None
        self.now += 15

    @precondition(lambda self: self.state.has_pending_ops)
    @rule()
    def invalidate(self) -> None:
        s = self.state
        if s.timeout:
            self.now = max(self.now, s.timeout + 1)
        args: dict[str, Any] = {
            "invalidTxCount": s.tx_count_global,
            "reason": "CU_INVALID_TIMEOUT" if s.timeout else "CU_INVALID_ERROR",
        }
        timed_wd = s.has_pending_withdrawals and s.timeout != 0
        if timed_wd:
            assert self.withdrawal is not None
            args["withdrawal"] = self.withdrawal.to_json()
        assert self._apply(
            "Invalidation", args, invalidated_withdrawal=self.withdrawal if timed_wd else None
        )
        self.withdrawal = None

    @rule(recipient=parties, wei=amounts, token=amounts)
    def pay(self, recipient: str, wei: int, token: int) -> None:
        self._apply(
            "Payment", {"recipient": recipient, "amountWei": str(wei), "amountToken": str(token)}
        )

    @rule(seller=parties, amount=amounts, sell_wei=st.booleans(), rate=rates)
    def exchange(self, seller: str, amount: int, sell_wei: bool, rate: str) -> None:
        args: dict[str, Any] = {
            "seller": seller,
            "exchangeRate": rate,
            "weiToSell": str(amount if sell_wei else 0),
            "tokensToSell": str(0 if sell_wei else amount),
        }
        self._apply("Exchange", args)

    @invariant()
    def no_field_is_negative(self) -> None:
        assert negative_or_overflowing_fields(self.state) == []

    @invariant()
    def channel_holds_what_was_deposited_minus_what_was_withdrawn(self) -> None:
        assert channel_totals(self.state) == self.onchain
        if not self.state.has_pending_ops:
            s = self.state
            assert (
                s.balance_wei_hub + s.balance_wei_user,
                s.balance_token_hub + s.balance_token_user,
            ) == self.onchain


TestChannelMachine = ChannelMachine.TestCase
TestChannelMachine.settings = settings(max_examples=400, stateful_step_count=40, deadline=None)
