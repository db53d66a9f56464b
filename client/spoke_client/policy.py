"""Which hub proposals the wallet countersigns.

Every proposal is first checked by `hub.core` (the same validators the hub runs): the state the
wallet would sign is *generated* from the wallet's own previous state and the proposal's args, so
the hub can never slip in a different state. `SigningPolicy` then decides whether the user wants
that transition at all. Anything not explicitly allowed is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.core import (
    ChannelState,
    ConfirmPendingArgs,
    DepositArgs,
    DidEmptyChannel,
    DidUpdateChannel,
    EmptyChannelArgs,
    ExchangeArgs,
    HubRate,
    InvalidationArgs,
    PaymentArgs,
    UpdateRejected,
    WithdrawalArgs,
    apply_update,
    assert_channel_signer,
    calculate_exchange,
)
from hub.core.args import UpdateArgs

from .updates import ChannelUpdate

# The Connext client accepts timeouts up to 2.5 times its 10-minute update-request timeout.
DEFAULT_MAX_TIMEOUT_SECONDS = 1500


@dataclass(frozen=True, slots=True)
class DepositRequest:
    """A deposit the user asked for (and signed the request of)."""

    amount_wei: int
    amount_token: int


@dataclass(frozen=True, slots=True)
class ExchangeRequest:
    wei_to_sell: int
    tokens_to_sell: int


@dataclass(frozen=True, slots=True)
class WithdrawalRequest:
    """The user's WithdrawalParameters: what leaves the channel to `recipient`, and what is sold."""

    recipient: str
    withdrawal_wei_user: int = 0
    withdrawal_token_user: int = 0
    tokens_to_sell: int = 0
    wei_to_sell: int = 0


@dataclass(frozen=True, slots=True)
class PolicyContext:
    """What the wallet knows when a proposal arrives.

    now: the latest block's timestamp (timeouts are judged by block time, as the contract does).
    hub_address: the hub's signing address (from `GET config`).
    reference_rate: the rate the wallet trusts (polled from the hub, or an independent oracle).
    event: the decoded chain event of the proposal's `transactionHash` (ConfirmPending,
        EmptyChannel), or None if the wallet could not find it on-chain.
    onchain_tx_count_global: the contract's txCountGlobal for this channel (Invalidation), or None.
    pending_withdrawal: the args of the withdrawal being invalidated, if any.
    """

    now: int
    hub_address: str
    reference_rate: HubRate | None = None
    deposit: DepositRequest | None = None
    exchange: ExchangeRequest | None = None
    withdrawal: WithdrawalRequest | None = None
    event: DidUpdateChannel | DidEmptyChannel | None = None
    onchain_tx_count_global: int | None = None
    pending_withdrawal: WithdrawalArgs | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """accept → `state` is the exact (unsigned-by-user) state to countersign."""

    accept: bool
    code: str
    message: str
    state: ChannelState | None = None

    @classmethod
    def ok(cls, state: ChannelState, message: str = "accepted") -> Decision:
        return cls(True, "accepted", message, state)

    @classmethod
    def no(cls, code: str, message: str) -> Decision:
        return cls(False, code, message, None)


@dataclass
class SigningPolicy:
    """The default policy: accept hub→user payments, ConfirmPending backed by the chain event,
    exchanges the user requested within the rate band, the user's own deposits, withdrawals that
    pay out at least what was asked, hub collateral deposits, invalidations of updates that never
    reached the chain, and EmptyChannel backed by the chain event. Reject everything else.

    Flip the booleans (or subclass and override `check_<reason>`) to narrow or widen it.
    """

    accept_hub_payments: bool = True
    accept_hub_collateral: bool = True
    accept_unrequested_exchanges: bool = False
    max_timeout_seconds: int = DEFAULT_MAX_TIMEOUT_SECONDS
    extra: Mapping[str, Any] = field(default_factory=dict)

    # ---- entry point ---------------------------------------------------------------------

    def evaluate(self, prev: ChannelState, update: ChannelUpdate, ctx: PolicyContext) -> Decision:
        """Decide on `update` (hub-signed or an unsigned hub proposal) on top of `prev`."""
        if update.sig_user is not None and update.sig_hub is None:
            return Decision.no("policy_user_signed_only", "a proposal cannot carry only our signature")
        if update.tx_count is not None and update.tx_count != prev.tx_count_global + 1:
            return Decision.no(
                "tx_count_global",
                f"proposal txCount {update.tx_count} is not {prev.tx_count_global + 1}",
            )
        try:
            args = update.typed_args()
            new = apply_update(
                prev,
                update.reason,
                args,
                now=ctx.now,
                hub_rate=self._rate_for(update, args, ctx),
                event=ctx.event,
                invalidated_withdrawal=ctx.pending_withdrawal,
            )
            if update.sig_hub is not None:
                assert_channel_signer(
                    new.replace(sig_hub=update.sig_hub), hub_address=ctx.hub_address, signer="hub"
                )
        except UpdateRejected as exc:
            return Decision.no(exc.code, exc.message)
        check = getattr(self, f"check_{update.reason}", None)
        if check is None:
            return Decision.no("policy_unsupported_reason", f"{update.reason} is never countersigned")
        result: Decision = check(prev, new, update, args, ctx)
        return result

    def _rate_for(self, update: ChannelUpdate, args: UpdateArgs, ctx: PolicyContext) -> HubRate | None:
        return ctx.reference_rate

    def _timeout_ok(self, timeout: int, ctx: PolicyContext, *, allow_zero: bool) -> str | None:
        if timeout == 0:
            return None if allow_zero else "the proposal has no timeout"
        if timeout <= ctx.now:
            return f"timeout {timeout} has passed (block time {ctx.now})"
        if timeout > ctx.now + self.max_timeout_seconds:
            return f"timeout {timeout} is more than {self.max_timeout_seconds} s ahead"
        return None

    # ---- per reason ----------------------------------------------------------------------

    def check_Payment(self, prev: ChannelState, new: ChannelState, update: ChannelUpdate,
                      args: UpdateArgs, ctx: PolicyContext) -> Decision:
        assert isinstance(args, PaymentArgs)
        if args.recipient != "user":
            return Decision.no("policy_unrequested_payment",
                               "a payment to the hub is only ever signed by our own purchase")
        if update.sig_hub is None:
            return Decision.no("policy_unsigned_payment", "a hub payment must carry the hub's signature")
        if not self.accept_hub_payments:
            return Decision.no("policy_disabled", "hub payments are not accepted")
        return Decision.ok(new, "hub pays user")

    def check_Exchange(self, prev: ChannelState, new: ChannelState, update: ChannelUpdate,
                       args: UpdateArgs, ctx: PolicyContext) -> Decision:
        assert isinstance(args, ExchangeArgs)
        if update.sig_hub is not None:
            return Decision.no("policy_hub_signed_exchange",
                               "exchanges are proposed unsigned and countersigned by the hub")
        if self.accept_unrequested_exchanges:
            return Decision.ok(new, "exchange within the rate band")
        request = ctx.exchange
        if request is None:
            return Decision.no("policy_unrequested_exchange", "no exchange was requested")
        if args.seller != "user":
            return Decision.no("policy_exchange_mismatch", "the user is the seller of a requested exchange")
        if args.wei_to_sell > request.wei_to_sell or args.tokens_to_sell > request.tokens_to_sell:
            return Decision.no("policy_exchange_mismatch",
                               f"sells more than requested ({args.wei_to_sell} wei, "
                               f"{args.tokens_to_sell} tokens)")
        return Decision.ok(new, "requested exchange within the rate band")

    def check_ProposePendingDeposit(self, prev: ChannelState, new: ChannelState,
                                    update: ChannelUpdate, args: UpdateArgs,
                                    ctx: PolicyContext) -> Decision:
        assert isinstance(args, DepositArgs)
        if args.sig_user is not None:
            # the user's own deposit (userAuthorizedUpdate): hub-signed, amounts as requested
            if update.sig_hub is None:
                return Decision.no("policy_unsigned_deposit",
                                   "a user deposit proposal must carry the hub's signature")
            request = ctx.deposit
            if request is None or (args.deposit_wei_user, args.deposit_token_user) != (
                request.amount_wei, request.amount_token
            ):
                return Decision.no("policy_deposit_mismatch",
                                   "the deposit amounts are not the ones requested")
            problem = self._timeout_ok(args.timeout, ctx, allow_zero=False)
            if problem:
                return Decision.no("policy_bad_timeout", problem)
            return Decision.ok(new, "requested user deposit")
        # a hub collateral deposit (hubAuthorizedUpdate): only the hub's side may grow
        if args.deposit_wei_user or args.deposit_token_user:
            return Decision.no("policy_user_deposit_without_request",
                               "a hub deposit cannot create a user deposit")
        if not self.accept_hub_collateral:
            return Decision.no("policy_disabled", "hub collateral deposits are not accepted")
        problem = self._timeout_ok(args.timeout, ctx, allow_zero=True)
        if problem:
            return Decision.no("policy_bad_timeout", problem)
        return Decision.ok(new, "hub collateral deposit")

    def check_ProposePendingWithdrawal(self, prev: ChannelState, new: ChannelState,
                                       update: ChannelUpdate, args: UpdateArgs,
                                       ctx: PolicyContext) -> Decision:
        assert isinstance(args, WithdrawalArgs)
        request = ctx.withdrawal
        if request is None:
            return Decision.no("policy_unrequested_withdrawal", "no withdrawal was requested")
        if args.recipient != request.recipient.lower():
            return Decision.no("policy_withdrawal_mismatch", f"recipient {args.recipient} was not requested")
        if (args.tokens_to_sell, args.wei_to_sell) != (request.tokens_to_sell, request.wei_to_sell):
            return Decision.no("policy_withdrawal_mismatch", "sells other amounts than requested")
        problem = self._timeout_ok(args.timeout, ctx, allow_zero=True)
        if problem:
            return Decision.no("policy_bad_timeout", problem)
        # Value check: after the chain confirms, the user's channel balance plus what is paid out
        # to the recipient must be what the requested exchange leaves the user, and the payout must
        # be at least the requested withdrawal.
        x = calculate_exchange(seller="user", rate=args.exchange_rate,
                               wei_to_sell=args.wei_to_sell, tokens_to_sell=args.tokens_to_sell)
        expected_wei = prev.balance_wei_user + x.wei_received - x.wei_sold
        expected_token = prev.balance_token_user + x.tokens_received - x.tokens_sold
        paid_wei = new.pending_withdrawal_wei_user
        paid_token = new.pending_withdrawal_token_user
        final_wei = new.balance_wei_user + max(0, new.pending_deposit_wei_user - paid_wei)
        final_token = new.balance_token_user + max(0, new.pending_deposit_token_user - paid_token)
        if final_wei + paid_wei < expected_wei or (
            final_token + paid_token < expected_token
        ):
            return Decision.no("policy_withdrawal_value",
                               "the withdrawal would leave the user with less than requested")
        if paid_wei < request.withdrawal_wei_user or paid_token < request.withdrawal_token_user:
            return Decision.no("policy_withdrawal_value", "pays out less than requested")
        return Decision.ok(new, "requested withdrawal")

    def check_ConfirmPending(self, prev: ChannelState, new: ChannelState, update: ChannelUpdate,
                             args: UpdateArgs, ctx: PolicyContext) -> Decision:
        assert isinstance(args, ConfirmPendingArgs)
        # hub.core already matched ctx.event against prev; a missing event never gets here
        # (apply_update raises bad_event), but keep the rule explicit.
        if not isinstance(ctx.event, DidUpdateChannel):
            return Decision.no("policy_unconfirmed_on_chain", "no DidUpdateChannel event for this tx")
        return Decision.ok(new, "pending operations confirmed on-chain")

    def check_Invalidation(self, prev: ChannelState, new: ChannelState, update: ChannelUpdate,
                           args: UpdateArgs, ctx: PolicyContext) -> Decision:
        assert isinstance(args, InvalidationArgs)
        if ctx.onchain_tx_count_global is None:
            return Decision.no("policy_chain_unknown", "cannot check the contract's txCount")
        if ctx.onchain_tx_count_global >= prev.tx_count_global:
            return Decision.no("policy_reached_chain", "the invalidated update is on-chain already")
        return Decision.ok(new, "invalidates an update that never reached the chain")

    def check_EmptyChannel(self, prev: ChannelState, new: ChannelState, update: ChannelUpdate,
                           args: UpdateArgs, ctx: PolicyContext) -> Decision:
        assert isinstance(args, EmptyChannelArgs)
        if not isinstance(ctx.event, DidEmptyChannel):
            return Decision.no("policy_unconfirmed_on_chain", "no DidEmptyChannel event for this tx")
        return Decision.ok(new, "channel emptied on-chain")


def withdrawal_args_or_none(raw: Mapping[str, Any] | None) -> WithdrawalArgs | None:
    return WithdrawalArgs.from_json(raw) if raw else None
