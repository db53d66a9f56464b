"""Threads: a port of connext/dist StateGenerator.openThread/closeThread/threadPayment and the
thread checks of validator.js (isValidThreadState, isValidInitialThreadState,
isValidThreadStateTransition, checkThreadRootAndCount), pure like the rest of the core.

A thread from `sender` to `receiver` is funded twice: by the sender in the sender's channel and by
the hub (collateral) in the receiver's channel. Its initial state (txCount 0, receiver balances 0,
signed by the sender) is a leaf of both channels' `threadRoot`; later states are signed by the
sender only and never enter a root. Closing with the latest state pays each channel its side.

Where Spoke is stricter than the client (every check is on the hub's side only, so the client's
own states still pass): no thread on top of a state with a timeout (the generators reset it to 0),
no thread without value, one open thread per (sender, receiver) in a channel, and a thread payment
raises txCount by exactly one and moves a positive amount.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.core.errors import RejectCode, UpdateRejected
from hub.core.hashing import thread_root
from hub.core.signing import assert_thread_signer
from hub.core.state import ChannelState, ThreadState

THREAD_REASONS: tuple[str, ...] = ("OpenThread", "CloseThread")


def _reject(code: RejectCode, message: str) -> UpdateRejected:
    return UpdateRejected(code, message)


@dataclass(frozen=True, slots=True)
class ThreadArgs:
    """The args of OpenThread (the sender-signed initial state) and CloseThread (the latest
    sender-signed state of the thread): a ThreadState in the client's JSON shape."""

    thread: ThreadState

    @classmethod
    def from_json(cls, data: object) -> ThreadArgs:
        if not isinstance(data, Mapping):
            raise _reject(RejectCode.BAD_ARGS, "thread args must be an object")
        return cls(ThreadState.from_json(data))

    def to_json(self) -> dict[str, Any]:
        return self.thread.to_json()


def same_thread(a: ThreadState, b: ThreadState) -> bool:
    return (a.sender, a.receiver, a.thread_id) == (b.sender, b.receiver, b.thread_id)


def thread_key(t: ThreadState) -> tuple[str, str, int]:
    return (t.sender, t.receiver, t.thread_id)


def thread_value(t: ThreadState) -> tuple[int, int]:
    """(wei, token) held by the thread: constant over its life."""
    return (t.balance_wei_sender + t.balance_wei_receiver,
            t.balance_token_sender + t.balance_token_receiver)


# --- checks -------------------------------------------------------------------------------


def check_thread_state(thread: ThreadState, *, hub_address: str | None) -> None:
    """validator.isValidThreadState: distinct parties, neither the hub nor the contract, signed
    by the sender. (Amounts are non-negative by construction: ThreadState.from_json.)"""
    if any(getattr(thread, f) < 0 for f in (
            "balance_wei_sender", "balance_wei_receiver", "balance_token_sender",
            "balance_token_receiver", "tx_count", "thread_id")):
        raise _reject(RejectCode.NEGATIVE_BALANCE, "a thread state has a negative field")
    if thread.sender == thread.receiver:
        raise _reject(RejectCode.BAD_ARGS, "a thread's sender cannot be its receiver")
    if thread.contract_address in (thread.sender, thread.receiver):
        raise _reject(RejectCode.BAD_ARGS, "the contract cannot be a thread party")
    if hub_address is not None and hub_address.lower() in (thread.sender, thread.receiver):
        raise _reject(RejectCode.BAD_ARGS, "the hub cannot be a thread party")
    assert_thread_signer(thread)


def check_initial_thread_state(thread: ThreadState, *, hub_address: str | None) -> None:
    """validator.isValidInitialThreadState: txCount 0 and nothing on the receiver's side."""
    if thread.tx_count != 0 or thread.balance_wei_receiver or thread.balance_token_receiver:
        raise _reject(RejectCode.BAD_ARGS,
                      "an initial thread state has txCount 0 and zero receiver balances")
    check_thread_state(thread, hub_address=hub_address)


def check_thread_transition(prev: ThreadState, new: ThreadState, *, strict: bool) -> None:
    """validator.isValidThreadStateTransition: same thread, txCount does not fall (rises when
    `strict`), receiver balances never fall, the thread's value is conserved."""
    if (prev.contract_address, *thread_key(prev)) != (new.contract_address, *thread_key(new)):
        raise _reject(RejectCode.WRONG_CHANNEL, "the states belong to different threads")
    if new.tx_count < prev.tx_count or (strict and new.tx_count == prev.tx_count):
        raise _reject(RejectCode.TX_COUNT_GLOBAL,
                      f"thread txCount {prev.tx_count} -> {new.tx_count}")
    if (new.balance_wei_receiver < prev.balance_wei_receiver
            or new.balance_token_receiver < prev.balance_token_receiver):
        raise _reject(RejectCode.BAD_ARGS, "a thread's receiver balances can only increase")
    if thread_value(prev) != thread_value(new):
        raise _reject(RejectCode.VALUE_NOT_CONSERVED,
                      f"thread value {thread_value(prev)} -> {thread_value(new)}")


def check_root_and_count(prev: ChannelState, initial_threads: Sequence[ThreadState]) -> None:
    """validator.checkThreadRootAndCount: the initial states are exactly the channel's."""
    if len(initial_threads) != prev.thread_count:
        raise _reject(RejectCode.THREAD_ROOT_MISMATCH,
                      f"{len(initial_threads)} initial thread states for threadCount "
                      f"{prev.thread_count}")
    if len({thread_key(t) for t in initial_threads}) != len(initial_threads):
        raise _reject(RejectCode.THREAD_ROOT_MISMATCH, "duplicate initial thread states")
    if thread_root(initial_threads) != prev.thread_root:
        raise _reject(RejectCode.THREAD_ROOT_MISMATCH,
                      "the initial thread states are not the channel's threadRoot")


def _member(prev: ChannelState, thread: ThreadState) -> str:
    """'sender' or 'receiver': the channel user's role in the thread."""
    if thread.contract_address != prev.contract_address:
        raise _reject(RejectCode.WRONG_CHANNEL, "the thread is for another contract")
    if thread.sender == prev.user:
        return "sender"
    if thread.receiver == prev.user:
        return "receiver"
    raise _reject(RejectCode.WRONG_CHANNEL, "the channel's user is not a member of the thread")


def _no_timeout(prev: ChannelState) -> None:
    if prev.timeout != 0:
        raise _reject(RejectCode.PENDING_TIMEOUT,
                      "previous state has a timeout; it must be confirmed or invalidated first")


# --- generators ---------------------------------------------------------------------------


def open_thread(prev: ChannelState, initial_threads: Sequence[ThreadState],
                thread: ThreadState) -> ChannelState:
    """StateGenerator.openThread: the sender's side (the user in the sender's channel, the hub
    in the receiver's) funds the thread; root and count take in the new initial state."""
    threads = [*initial_threads, thread]
    payer = "user" if thread.sender == prev.user else "hub"
    return prev.unsigned().replace(**{
        f"balance_wei_{payer}": getattr(prev, f"balance_wei_{payer}") - thread.balance_wei_sender,
        f"balance_token_{payer}": (getattr(prev, f"balance_token_{payer}")
                                   - thread.balance_token_sender),
    }, thread_count=len(threads), thread_root=thread_root(threads), timeout=0,
        tx_count_global=prev.tx_count_global + 1)


def close_thread(prev: ChannelState, initial_threads: Sequence[ThreadState],
                 thread: ThreadState) -> ChannelState:
    """StateGenerator.closeThread: the channel user takes their side of the latest thread state,
    the hub the other side; root and count drop the thread's initial state."""
    threads = [t for t in initial_threads if not same_thread(t, thread)]
    user_is_sender = thread.sender == prev.user
    mine, other = ("sender", "receiver") if user_is_sender else ("receiver", "sender")
    return prev.unsigned().replace(
        balance_wei_user=prev.balance_wei_user + getattr(thread, f"balance_wei_{mine}"),
        balance_token_user=prev.balance_token_user + getattr(thread, f"balance_token_{mine}"),
        balance_wei_hub=prev.balance_wei_hub + getattr(thread, f"balance_wei_{other}"),
        balance_token_hub=prev.balance_token_hub + getattr(thread, f"balance_token_{other}"),
        thread_count=len(threads), thread_root=thread_root(threads), timeout=0,
        tx_count_global=prev.tx_count_global + 1,
    )


def thread_payment(prev: ThreadState, amount_wei: int, amount_token: int) -> ThreadState:
    """StateGenerator.threadPayment (unsigned)."""
    return dataclasses.replace(
        prev,
        balance_wei_sender=prev.balance_wei_sender - amount_wei,
        balance_wei_receiver=prev.balance_wei_receiver + amount_wei,
        balance_token_sender=prev.balance_token_sender - amount_token,
        balance_token_receiver=prev.balance_token_receiver + amount_token,
        tx_count=prev.tx_count + 1,
        sig_a=None,
    )


# --- validated transitions (called by updates.apply_update) --------------------------------


def _require_initial(initial_threads: Sequence[ThreadState] | None) -> Sequence[ThreadState]:
    if initial_threads is None:
        raise _reject(RejectCode.BAD_ARGS, "a thread update needs the channel's initialThreadStates")
    return initial_threads


def _no_negatives(prev: ChannelState, new: ChannelState, payer: str) -> None:
    if getattr(new, f"balance_wei_{payer}") < 0 or getattr(new, f"balance_token_{payer}") < 0:
        raise _reject(RejectCode.INSUFFICIENT_BALANCE,
                      f"{payer} has wei {getattr(prev, f'balance_wei_{payer}')}, token "
                      f"{getattr(prev, f'balance_token_{payer}')}: too little to fund the thread")


def apply_open_thread(prev: ChannelState, args: ThreadArgs,
                      initial_threads: Sequence[ThreadState] | None, *,
                      hub_address: str | None) -> ChannelState:
    """validator.openThread, then the generator."""
    threads = _require_initial(initial_threads)
    thread = args.thread
    check_initial_thread_state(thread, hub_address=hub_address)
    role = _member(prev, thread)
    _no_timeout(prev)
    if thread_value(thread) == (0, 0):
        raise _reject(RejectCode.BAD_ARGS, "a thread needs value")
    check_root_and_count(prev, threads)
    for t in threads:
        if (t.sender, t.receiver) == (thread.sender, thread.receiver):
            raise _reject(RejectCode.THREAD_EXISTS,
                          f"a thread from {thread.sender} to {thread.receiver} is already open")
    new = open_thread(prev, threads, thread)
    _no_negatives(prev, new, "user" if role == "sender" else "hub")
    return new


def apply_close_thread(prev: ChannelState, args: ThreadArgs,
                       initial_threads: Sequence[ThreadState] | None, *,
                       hub_address: str | None) -> ChannelState:
    """validator.closeThread, then the generator. `args.thread` is the thread's latest state
    (or its initial state, if no payment was made)."""
    threads = _require_initial(initial_threads)
    thread = args.thread
    _member(prev, thread)
    _no_timeout(prev)
    check_root_and_count(prev, threads)
    initial = next((t for t in threads if same_thread(t, thread)), None)
    if initial is None:
        raise _reject(RejectCode.THREAD_NOT_FOUND, "the thread is not open in this channel")
    check_initial_thread_state(initial, hub_address=hub_address)
    check_thread_state(thread, hub_address=hub_address)
    check_thread_transition(initial, thread, strict=False)
    return close_thread(prev, threads, thread)


def validate_thread_payment(prev: ThreadState, new: ThreadState, *,
                            hub_address: str | None) -> ThreadState:
    """A thread update the sender signed (POST thread/:s/to/:r/update, PT_THREAD): the next
    txCount, value moving from sender to receiver only, signed by the sender. Returns `new`."""
    check_thread_state(new, hub_address=hub_address)
    check_thread_transition(prev, new, strict=True)
    if new.tx_count != prev.tx_count + 1:
        raise _reject(RejectCode.TX_COUNT_GLOBAL,
                      f"thread txCount {new.tx_count} does not follow {prev.tx_count}")
    if (new.balance_wei_receiver, new.balance_token_receiver) == (
            prev.balance_wei_receiver, prev.balance_token_receiver):
        raise _reject(RejectCode.BAD_ARGS, "a thread payment must move value")
    return new
