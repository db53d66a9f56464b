"""The hub's entry points: validate a requested update, generate the next state, check invariants.

Validation follows docs/protocol.md §2 and the client's validator.js (connext 4.1.7). Where Spoke is
stricter than the client the docstring of the check says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hub.core import transitions
from hub.core.args import (
    ARGS_BY_REASON,
    ConfirmPendingArgs,
    DepositArgs,
    EmptyChannelArgs,
    ExchangeArgs,
    InvalidationArgs,
    PaymentArgs,
    UpdateArgs,
    WithdrawalArgs,
    parse_args,
)
from hub.core.errors import RejectCode, UpdateRejected
from hub.core.events import DidEmptyChannel, DidUpdateChannel
from hub.core.invariants import check_invariants, negative_or_overflowing_fields
from hub.core.rates import HubRate, check_rate
from hub.core.signing import assert_channel_signer, assert_deposit_request_signer
from hub.core.state import ChannelState, ThreadState
from hub.core.threads import ThreadArgs, apply_close_thread, apply_open_thread, thread_value

SUPPORTED_REASONS: tuple[str, ...] = tuple(ARGS_BY_REASON)
Event = DidUpdateChannel | DidEmptyChannel


def _reject(code: RejectCode, message: str) -> UpdateRejected:
    return UpdateRejected(code, message)


def _no_timeout(prev: ChannelState) -> None:
    if prev.timeout != 0:
        raise _reject(
            RejectCode.PENDING_TIMEOUT,
            "previous state has a timeout; it must be confirmed or invalidated first",
        )


def _no_pending(prev: ChannelState) -> None:
    if prev.has_pending_ops:
        raise _reject(RejectCode.PENDING_OPERATIONS, "previous state has pending operations")


def _previous_signed(prev: ChannelState) -> None:
    # validator.isValidStateTransition: past the first on-chain op, prev carries a signature.
    if prev.tx_count_chain > 0 and prev.sig_hub is None and prev.sig_user is None:
        raise _reject(RejectCode.PREVIOUS_UNSIGNED, "previous state carries no signature")


def _future_timeout(timeout: int, now: int) -> None:
    # Stricter than the client: a proposal whose timeout has passed could never go on-chain.
    if 0 < timeout <= now:
        raise _reject(RejectCode.TIMEOUT_EXPIRED, f"timeout {timeout} is not after now ({now})")


def _introduces_pending(new: ChannelState) -> None:
    # The generators bump txCountChain unconditionally; the client's validator then refuses a
    # proposal without pending ops, so an empty one is an argument error.
    if not new.has_pending_ops:
        raise _reject(RejectCode.BAD_ARGS, "the proposal has no on-chain operation")


def _affords(prev: ChannelState, payer: str, wei: int, token: int) -> None:
    """validator.cantAffordFromBalance."""
    have_wei = getattr(prev, f"balance_wei_{payer}")
    have_token = getattr(prev, f"balance_token_{payer}")
    if have_wei < wei or have_token < token:
        raise _reject(
            RejectCode.INSUFFICIENT_BALANCE,
            f"{payer} has wei {have_wei}, token {have_token}; needs wei {wei}, token {token}",
        )


def _no_negatives(new: ChannelState, code: RejectCode) -> None:
    bad = negative_or_overflowing_fields(new)
    if bad:
        raise _reject(code, f"the update would leave {', '.join(bad)} out of range")


def _one_side_of_exchange(wei_to_sell: int, tokens_to_sell: int, *, allow_none: bool) -> None:
    if wei_to_sell > 0 and tokens_to_sell > 0:
        raise _reject(RejectCode.BAD_ARGS, "an exchange cannot sell both wei and tokens")
    if not allow_none and wei_to_sell == 0 and tokens_to_sell == 0:
        raise _reject(RejectCode.BAD_ARGS, "an exchange must sell wei or tokens")


def _payment(prev: ChannelState, args: PaymentArgs) -> ChannelState:
    _no_timeout(prev)
    _affords(prev, "user" if args.recipient == "hub" else "hub", args.amount_wei, args.amount_token)
    new = transitions.payment(prev, args)
    _no_negatives(new, RejectCode.NEGATIVE_BALANCE)
    return new


def _exchange(
    prev: ChannelState, args: ExchangeArgs, *, now: int, hub_rate: HubRate | None
) -> ChannelState:
    _no_timeout(prev)
    _one_side_of_exchange(args.wei_to_sell, args.tokens_to_sell, allow_none=False)
    _affords(prev, args.seller, args.wei_to_sell, args.tokens_to_sell)
    check_rate(args.exchange_rate, hub_rate, now=now)
    new = transitions.exchange(prev, args)
    # the buyer's counter-amount must be covered too (the hub may lack the wei it would pay)
    _no_negatives(new, RejectCode.INSUFFICIENT_BALANCE)
    return new


def _deposit(prev: ChannelState, args: DepositArgs, *, now: int) -> ChannelState:
    _no_timeout(prev)
    _no_pending(prev)
    _future_timeout(args.timeout, now)
    if args.sig_user is not None:
        assert_deposit_request_signer(
            args.deposit_token_user, args.deposit_wei_user, args.sig_user, prev.user
        )
    new = transitions.propose_pending_deposit(prev, args)
    _introduces_pending(new)
    _no_negatives(new, RejectCode.NEGATIVE_BALANCE)
    return new


def _withdrawal(
    prev: ChannelState, args: WithdrawalArgs, *, now: int, hub_rate: HubRate | None
) -> ChannelState:
    _no_timeout(prev)
    _no_pending(prev)
    _future_timeout(args.timeout, now)
    _one_side_of_exchange(args.wei_to_sell, args.tokens_to_sell, allow_none=True)
    if args.wei_to_sell or args.tokens_to_sell:
        check_rate(args.exchange_rate, hub_rate, now=now)
    if args.seller == "user":
        # Needed explicitly: calculateExchange's remainder quirk can hide a small overdraft.
        _affords(prev, "user", args.wei_to_sell, args.tokens_to_sell)
    new = transitions.propose_pending_withdrawal(prev, args)
    # The hub's shortfall is covered from reserves; a negative here is the user's own shortfall.
    _no_negatives(new, RejectCode.INSUFFICIENT_BALANCE)
    _introduces_pending(new)
    # Spoke extra: never sign a withdrawal whose (client-defined) Invalidation would be invalid,
    # or a failed transaction would leave the channel stuck with pending operations.
    undo = transitions.invalidation(
        new, InvalidationArgs(new.tx_count_global, "CU_INVALID_ERROR", withdrawal=args)
    )
    if negative_or_overflowing_fields(undo):
        raise _reject(
            RejectCode.WITHDRAWAL_NOT_REVERSIBLE,
            "the client's invalidation of this withdrawal would leave negative balances",
        )
    return new


def _confirm_pending(
    prev: ChannelState, args: ConfirmPendingArgs, event: Event | None
) -> ChannelState:
    """validator.confirmPending: the event's pending values and txCountChain must be prev's."""
    if not isinstance(event, DidUpdateChannel):
        raise _reject(RejectCode.BAD_EVENT, "ConfirmPending needs the DidUpdateChannel event")
    if not prev.has_pending_ops:
        raise _reject(RejectCode.NO_PENDING_OPERATIONS, "nothing pending to confirm")
    if (event.contract_address.lower(), event.user.lower()) != (prev.contract_address, prev.user):
        raise _reject(RejectCode.WRONG_CHANNEL, "the event is for another contract or user")
    if event.sender_idx not in (0, 1):
        raise _reject(RejectCode.BAD_EVENT, f"senderIdx {event.sender_idx}")
    expected_wei = (
        prev.pending_deposit_wei_hub,
        prev.pending_withdrawal_wei_hub,
        prev.pending_deposit_wei_user,
        prev.pending_withdrawal_wei_user,
    )
    expected_token = (
        prev.pending_deposit_token_hub,
        prev.pending_withdrawal_token_hub,
        prev.pending_deposit_token_user,
        prev.pending_withdrawal_token_user,
    )
    if (
        tuple(event.pending_wei_updates) != expected_wei
        or tuple(event.pending_token_updates) != expected_token
    ):
        raise _reject(RejectCode.BAD_EVENT, "the event's pending values are not the state's")
    if event.tx_count[1] != prev.tx_count_chain:
        raise _reject(RejectCode.BAD_EVENT, "the event's txCountChain is not the state's")
    # Stricter than the client: the chain cannot have a state newer than ours.
    if event.tx_count[0] > prev.tx_count_global:
        raise _reject(RejectCode.BAD_EVENT, "the event's txCountGlobal is ahead of the channel")
    return transitions.confirm_pending(prev)


def _empty_channel(prev: ChannelState, event: Event | None) -> ChannelState:
    """validator.emptyChannel: a zeroed channel at least as new as ours."""
    if not isinstance(event, DidEmptyChannel):
        raise _reject(RejectCode.BAD_EVENT, "EmptyChannel needs the DidEmptyChannel event")
    if (event.contract_address.lower(), event.user.lower()) != (prev.contract_address, prev.user):
        raise _reject(RejectCode.WRONG_CHANNEL, "the event is for another contract or user")
    if event.sender_idx not in (0, 1):
        raise _reject(RejectCode.BAD_EVENT, f"senderIdx {event.sender_idx}")
    if any(event.wei_balances) or any(event.token_balances):
        raise _reject(RejectCode.BAD_EVENT, "an emptied channel must have zero balances")
    if prev.tx_count_global > event.tx_count[0]:
        raise _reject(RejectCode.BAD_EVENT, "the event is older than the channel (replay?)")
    return transitions.empty_channel(prev, event)


def _invalidation(
    prev: ChannelState,
    args: InvalidationArgs,
    *,
    now: int,
    invalidated_withdrawal: WithdrawalArgs | None,
) -> ChannelState:
    """validator.invalidation plus the hub's rules (reference §3.7), with block time.

    Differs from the client: prev needs only the hub's signature (a hub proposal the user never
    countersigned can be invalidated), and the timeout is judged by the block time passed in.
    """
    if not prev.has_pending_ops:
        raise _reject(RejectCode.NO_PENDING_OPERATIONS, "cannot invalidate without pending ops")
    if prev.sig_hub is None:
        raise _reject(RejectCode.PREVIOUS_UNSIGNED, "the invalidated state has no hub signature")
    # Client quirk kept: invalidTxCount is compared with txCountChain as the lower bound.
    if args.invalid_tx_count < prev.tx_count_chain:
        raise _reject(RejectCode.BAD_ARGS, "invalidTxCount is below the previous txCountChain")
    if args.invalid_tx_count > prev.tx_count_global:
        raise _reject(RejectCode.BAD_ARGS, "invalidTxCount is above the channel's txCountGlobal")
    timed_withdrawal = prev.has_pending_withdrawals and prev.timeout != 0
    if timed_withdrawal:
        if args.withdrawal is None:
            raise _reject(RejectCode.BAD_ARGS, "invalidating a withdrawal needs its arguments")
        if args.invalid_tx_count != prev.tx_count_global:
            raise _reject(RejectCode.BAD_ARGS, "a timed withdrawal that was built on is final")
    if args.withdrawal is not None and args.withdrawal != invalidated_withdrawal:
        # The withdrawal args decide who gets what back; they must be the ones we signed.
        raise _reject(RejectCode.BAD_ARGS, "withdrawal args differ from the invalidated update")
    if prev.timeout != 0 and now <= prev.timeout:
        raise _reject(
            RejectCode.TIMEOUT_NOT_EXPIRED,
            f"the state can still go on-chain until {prev.timeout} (block time {now})",
        )
    if args.reason == "CU_INVALID_TIMEOUT" and prev.timeout == 0:
        raise _reject(RejectCode.BAD_ARGS, "the state has no timeout to expire")
    new = transitions.invalidation(prev, args)
    _no_negatives(new, RejectCode.NEGATIVE_BALANCE)
    return new


def coerce_args(reason: str, args: UpdateArgs | Mapping[str, Any]) -> UpdateArgs:
    """Typed args pass through (checked against the reason); mappings are parsed as client JSON."""
    if isinstance(args, Mapping):
        return parse_args(reason, args)
    expected = ARGS_BY_REASON.get(reason)
    if expected is None:
        raise _reject(RejectCode.UNKNOWN_REASON, f"unsupported reason {reason!r}")
    if not isinstance(args, expected):
        raise _reject(RejectCode.BAD_ARGS, f"{reason} takes {expected.__name__}")
    return args


def apply_update(
    prev: ChannelState,
    reason: str,
    args: UpdateArgs | Mapping[str, Any],
    *,
    now: int,
    hub_rate: HubRate | None = None,
    event: Event | None = None,
    invalidated_withdrawal: WithdrawalArgs | None = None,
    initial_threads: Sequence[ThreadState] | None = None,
    hub_address: str | None = None,
) -> ChannelState:
    """Validate `reason(args)` on top of `prev` and return the new, unsigned state.

    now: the latest block's timestamp (unix seconds), used for every timeout and rate-age check.
    hub_rate: the hub's current rate; required for Exchange and for withdrawals with an exchange.
    event: the decoded DidUpdateChannel (ConfirmPending) or DidEmptyChannel (EmptyChannel).
    invalidated_withdrawal: for an Invalidation of a withdrawal, the args the hub signed it with.
    initial_threads: for OpenThread/CloseThread, the initial states of the channel's open threads
    (they must make up `prev.threadRoot`); hub_address: refused as a thread party when given.
    Raises UpdateRejected with a stable code; InvariantViolation means a bug.
    """
    typed = coerce_args(reason, args)
    _previous_signed(prev)
    new: ChannelState
    if isinstance(typed, PaymentArgs):
        new = _payment(prev, typed)
    elif isinstance(typed, ExchangeArgs):
        new = _exchange(prev, typed, now=now, hub_rate=hub_rate)
    elif isinstance(typed, DepositArgs):
        new = _deposit(prev, typed, now=now)
    elif isinstance(typed, WithdrawalArgs):
        new = _withdrawal(prev, typed, now=now, hub_rate=hub_rate)
    elif isinstance(typed, ConfirmPendingArgs):
        new = _confirm_pending(prev, typed, event)
    elif isinstance(typed, InvalidationArgs):
        new = _invalidation(prev, typed, now=now, invalidated_withdrawal=invalidated_withdrawal)
    elif isinstance(typed, EmptyChannelArgs):
        new = _empty_channel(prev, event)
    elif isinstance(typed, ThreadArgs) and reason == "OpenThread":
        new = apply_open_thread(prev, typed, initial_threads, hub_address=hub_address)
        wei, token = thread_value(typed.thread)
        return check_invariants(prev, new, reason, thread_delta=(-wei, -token))
    elif isinstance(typed, ThreadArgs):
        new = apply_close_thread(prev, typed, initial_threads, hub_address=hub_address)
        return check_invariants(prev, new, reason, thread_delta=thread_value(typed.thread))
    else:  # pragma: no cover - coerce_args only returns the types above
        raise _reject(RejectCode.UNKNOWN_REASON, reason)
    return check_invariants(prev, new, reason)


def validate_signed_update(
    prev: ChannelState,
    new: ChannelState,
    reason: str,
    args: UpdateArgs | Mapping[str, Any],
    *,
    hub_address: str,
    now: int,
    hub_rate: HubRate | None = None,
    event: Event | None = None,
    invalidated_withdrawal: WithdrawalArgs | None = None,
    initial_threads: Sequence[ThreadState] | None = None,
    require_user_sig: bool = True,
    require_hub_sig: bool = False,
) -> ChannelState:
    """Check a state someone signed: it must be exactly what `apply_update` generates, and every
    signature it carries (and each required one) must recover to its party. Returns `new`."""
    expected = apply_update(
        prev,
        reason,
        args,
        now=now,
        hub_rate=hub_rate,
        event=event,
        invalidated_withdrawal=invalidated_withdrawal,
        initial_threads=initial_threads,
        hub_address=hub_address,
    )
    if not expected.same_content(new):
        raise _reject(
            RejectCode.STATE_MISMATCH,
            f"the signed state is not the one {reason} generates: {new!r} != {expected!r}",
        )
    if require_user_sig or new.sig_user is not None:
        assert_channel_signer(new, hub_address=hub_address, signer="user")
    if require_hub_sig or new.sig_hub is not None:
        assert_channel_signer(new, hub_address=hub_address, signer="hub")
    return new
