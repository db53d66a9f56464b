"""Money invariants asserted after every transition. A failure here is a bug in Spoke: the
validators should have rejected the update first, so this raises InvariantViolation, loudly."""

from __future__ import annotations

from hub.core.errors import InvariantViolation
from hub.core.state import AMOUNT_FIELDS, PENDING_FIELDS, UINT256_MAX, ZERO_ROOT, ChannelState

_UINT_FIELDS = (
    *(a for a, _ in AMOUNT_FIELDS),
    "tx_count_global",
    "tx_count_chain",
    "thread_count",
    "timeout",
)


def negative_or_overflowing_fields(state: ChannelState) -> list[str]:
    return [f for f in _UINT_FIELDS if not 0 <= getattr(state, f) <= UINT256_MAX]


def channel_totals(
    state: ChannelState, out_of_channel: tuple[int, int] = (0, 0)
) -> tuple[int, int]:
    """validator.calculateChannelTotals: (wei, token) in the channel, counting withdrawals that
    were already deducted from balances but have not yet left on-chain."""
    wei = (
        state.balance_wei_hub
        + state.balance_wei_user
        + max(0, state.pending_withdrawal_wei_user - state.pending_deposit_wei_user)
        + max(0, state.pending_withdrawal_wei_hub - state.pending_deposit_wei_hub)
        - out_of_channel[0]
    )
    token = (
        state.balance_token_hub
        + state.balance_token_user
        + max(0, state.pending_withdrawal_token_user - state.pending_deposit_token_user)
        + max(0, state.pending_withdrawal_token_hub - state.pending_deposit_token_hub)
        - out_of_channel[1]
    )
    return wei, token


def conservation_error(prev: ChannelState, new: ChannelState) -> str | None:
    """The client's rule (validator.isValidStateTransition): when pending ops are confirmed, the
    net of the confirmed pending values enters the channel; otherwise totals are unchanged."""
    reserves = (0, 0)
    compiled = (0, 0)
    if prev.has_pending_ops and not new.has_pending_ops:
        reserves = (
            max(new.pending_withdrawal_wei_user - prev.balance_wei_hub, 0),
            max(new.pending_withdrawal_token_user - prev.balance_token_hub, 0),
        )
        compiled = (
            prev.pending_deposit_wei_hub
            + prev.pending_deposit_wei_user
            - prev.pending_withdrawal_wei_hub
            - prev.pending_withdrawal_wei_user,
            prev.pending_deposit_token_hub
            + prev.pending_deposit_token_user
            - prev.pending_withdrawal_token_hub
            - prev.pending_withdrawal_token_user,
        )
    before = channel_totals(prev, reserves)
    after = channel_totals(new, compiled)
    if before != after:
        return f"channel totals (wei, token) went from {before} to {after}"
    return None


def expected_tx_count_chain(prev: ChannelState, new: ChannelState, reason: str) -> int | None:
    if reason == "Invalidation":
        return prev.tx_count_chain - 1
    if reason == "EmptyChannel":
        return None  # taken from the contract's event
    if new.has_pending_ops and not prev.has_pending_ops:
        return prev.tx_count_chain + 1
    return prev.tx_count_chain


THREAD_COUNT_STEP = {"OpenThread": 1, "CloseThread": -1}


def check_invariants(prev: ChannelState, new: ChannelState, reason: str, *,
                     thread_delta: tuple[int, int] = (0, 0)) -> ChannelState:
    """Assert the money rules for `prev -> new` under `reason`; returns `new` for chaining.

    OpenThread/CloseThread move value between the channel's balances and a thread: the client
    exempts them from conservation (threadCount +-1); Spoke instead requires the totals to move
    by exactly `thread_delta` (wei, token): minus the thread's value on open, plus it on close."""
    problems: list[str] = []
    if (new.thread_count == 0) != (new.thread_root == ZERO_ROOT):
        problems.append("threadRoot is zero iff threadCount is zero: broken")
    if reason != "EmptyChannel" and (
            new.thread_count != prev.thread_count + THREAD_COUNT_STEP.get(reason, 0)):
        problems.append(f"threadCount {prev.thread_count} -> {new.thread_count}")
    if reason not in THREAD_COUNT_STEP and reason != "EmptyChannel" and (
            new.thread_root != prev.thread_root):
        problems.append("threadRoot changed without a thread update")
    bad = negative_or_overflowing_fields(new)
    if bad:
        problems.append(f"fields out of uint256 range: {bad}")
    if (new.contract_address, new.user) != (prev.contract_address, prev.user):
        problems.append("the channel identity changed")
    if reason == "EmptyChannel":
        if new.tx_count_global <= prev.tx_count_global:
            problems.append("txCountGlobal did not increase")
        if new.has_pending_ops or any(
            getattr(new, f)
            for f in (
                "balance_wei_hub",
                "balance_wei_user",
                "balance_token_hub",
                "balance_token_user",
            )
        ):
            problems.append("an emptied channel still holds value")
    else:
        if new.tx_count_global != prev.tx_count_global + 1:
            problems.append(f"txCountGlobal {prev.tx_count_global} -> {new.tx_count_global}")
        expected_chain = expected_tx_count_chain(prev, new, reason)
        if new.tx_count_chain != expected_chain:
            problems.append(f"txCountChain {prev.tx_count_chain} -> {new.tx_count_chain}")
        if reason == "Invalidation":
            if new.has_pending_ops:
                problems.append("an invalidation left pending operations")
            if channel_totals(prev) != channel_totals(new):
                problems.append("invalidation changed the channel totals")
        elif reason in THREAD_COUNT_STEP:
            if prev.has_pending_ops != new.has_pending_ops or any(
                    getattr(prev, f) != getattr(new, f) for f in PENDING_FIELDS):
                problems.append("a thread update changed pending operations")
            before, after = channel_totals(prev), channel_totals(new)
            if (after[0] - before[0], after[1] - before[1]) != thread_delta:
                problems.append(f"channel totals went from {before} to {after}, not by the "
                                f"thread's {thread_delta}")
        else:
            error = conservation_error(prev, new)
            if error:
                problems.append(error)
    if problems:
        raise InvariantViolation(f"{reason}: {'; '.join(problems)} ({prev!r} -> {new!r})")
    return new
