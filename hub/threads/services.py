"""Every write of threads: open (OpenThread in both channels), pay (sender-signed thread states),
close (CloseThread in the caller's channel, mirrored by the hub in the other one).

Rules:
- Threads run only while `GlobalSwitches.threads_enabled` is on (flipped by operators at run
  time; read through the 2-second cache on the hot path). Switching threads off refuses new
  threads and payments; closing an open thread is always allowed, so no value stays locked.
- The hub opens a thread only when its balance in the receiver's channel covers the thread
  (else it requests collateral and refuses), and signs OpenThread in both channels.
- A thread is closed with its latest state: a close with an older state than the hub holds is
  refused (it would take value from the receiver), a newer sender-signed state is recorded first.
- Lock order: the two channel rows (lower id first), then the thread row. The thread's value
  sits in a `thread:` ledger account per channel while it is open, so each channel's `chain`
  account keeps matching what the contract holds for it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hub import push
from hub.channels import errors
from hub.channels.errors import ChannelError, Conflict, NotFound
from hub.channels.locks import channels_lock
from hub.channels.models import Channel, ChannelUpdate
from hub.channels.records import (
    Recorded,
    channel_state,
    contract_address,
    hub_address,
    record_state,
)
from hub.collateral.services import collateral_request
from hub.core import (
    ThreadArgs,
    ThreadState,
    UpdateRejected,
    apply_update,
    parse_address,
    thread_value,
    validate_signed_update,
    validate_thread_payment,
)
from hub.core.state import parse_uint
from hub.core.threads import check_thread_state, check_thread_transition, thread_key
from hub.ledger import accounts
from hub.ledger.services import channel_account, post
from hub.threads.models import ThreadRecord, ThreadUpdate
from ops.models import GlobalSwitches

logger = logging.getLogger(__name__)

THREAD_NOT_FOUND = "thread_not_found"
THREAD_EXISTS = "thread_exists"
INSUFFICIENT_COLLATERAL = "insufficient_collateral"


class ThreadCollateralShort(ChannelError):
    """The hub's balance in the receiver's channel does not cover the thread; collateral has been
    requested (after the refused transaction rolled back)."""

    def __init__(self, receiver: str, wei: int, token: int) -> None:
        super().__init__(INSUFFICIENT_COLLATERAL,
                         f"the hub has not enough collateral in {receiver}'s channel for this "
                         "thread yet; a top-up was requested", status=409)
        self.receiver, self.wei, self.token = receiver, wei, token


def threads_enabled() -> bool:
    return bool(GlobalSwitches.cached().threads_enabled)


def _require_enabled() -> None:
    if not threads_enabled():
        raise ChannelError(errors.THREADS_DISABLED, "threads are not enabled on this hub",
                           status=403)


# --- reading ------------------------------------------------------------------------------


def _in_root(channel: Channel) -> Q:
    return (Q(sender_channel=channel, sender_open_update__isnull=False,
              sender_close_update__isnull=True, sender_settled_on_chain=False)
            | Q(receiver_channel=channel, receiver_open_update__isnull=False,
                receiver_close_update__isnull=True, receiver_settled_on_chain=False))


def threads_in_root(channel: Channel) -> list[ThreadRecord]:
    return list(ThreadRecord.objects.filter(_in_root(channel)).order_by("id"))


def initial_threads_of(channel: Channel) -> list[ThreadState]:
    """The initial states of the threads in the channel's latest threadRoot."""
    return [t.initial_state() for t in threads_in_root(channel)]


def _lock_pair(a: str, b: str) -> dict[str, Channel]:
    """Lock two existing channels, lower id first. Missing channels are absent from the result."""
    return channels_lock(contract_address(), [a, b], create=False)


def _post_thread_ledger(channel: Channel, thread: ThreadRecord, wei: int, token: int,
                        memo: str) -> None:
    """Move value between the channel's `chain` account and its thread account: `+` when the
    thread takes value out of the channel's balances (open), `-` when it returns (close)."""
    account = accounts.thread(thread.pk, channel.pk)
    post([(channel_account(channel.pk, "chain"), "wei", -wei), (account, "wei", wei),
          (channel_account(channel.pk, "chain"), "token", -token), (account, "token", token)],
         memo=memo)


def _side(thread: ThreadRecord, channel: Channel) -> str:
    return "sender" if channel.pk == thread.sender_channel_id else "receiver"


# --- open ---------------------------------------------------------------------------------


def thread_channel_update(*, user: str, request: Mapping[str, Any]) -> ChannelUpdate | None:
    """An OpenThread/CloseThread the client posted to `channel/:user/update` as a NEW state
    (txCount = latest + 1). Returns None when it is a countersignature of a state the hub
    already signed (the channel services handle those)."""
    user = user.lower()
    tx_count = parse_uint(request.get("txCount"), "txCount")
    channel = Channel.objects.filter(contract=contract_address(), user=user).first()
    if channel is not None and channel.latest_update_id is not None and (
            tx_count <= ChannelUpdate.objects.get(pk=channel.latest_update_id).tx_count_global):
        return None
    if request.get("reason") == "OpenThread":
        try:
            return thread_open(user=user, request=request)
        except ThreadCollateralShort as short:
            _request_collateral(short.receiver, short.token)
            raise
    return thread_close(user=user, request=request)


def _request_collateral(receiver: str, token: int) -> None:
    try:
        collateral_request(user=receiver, target=token)
    except (ChannelError, UpdateRejected) as exc:
        logger.info("collateral for %s not requested: %s", receiver, exc)


def _thread_args(raw: Any) -> ThreadState:
    args = ThreadArgs.from_json(raw)
    return args.thread


def _check_client_initial_states(request: Mapping[str, Any], ours: Sequence[ThreadState]) -> None:
    """The client's `initialThreadStates`, when sent, must be the hub's (else it signed another
    root): refuse with the hub's view rather than sign a state the client cannot reproduce."""
    raw = request.get("initialThreadStates")
    if raw is None:
        return
    if not isinstance(raw, list):
        raise UpdateRejected("bad_args", "initialThreadStates must be a list")
    theirs = {thread_key(ThreadState.from_json(t)) for t in raw}
    if theirs != {thread_key(t) for t in ours}:
        raise UpdateRejected("thread_root_mismatch",
                             "initialThreadStates differ from the hub's open threads")


@transaction.atomic
def thread_open(*, user: str, request: Mapping[str, Any]) -> ChannelUpdate:
    """OpenThread: the sender's signed channel update plus its signed initial thread state.
    The hub countersigns it in the sender's channel and signs the mirror OpenThread (funded from
    its own balance) in the receiver's channel, which the receiver countersigns on sync."""
    _require_enabled()
    thread = _thread_args(request.get("args"))
    hub = hub_address()
    if thread.sender != user:
        raise UpdateRejected("bad_args", "only the thread's sender opens it, in its own channel")
    if thread.contract_address != contract_address():
        raise UpdateRejected("wrong_channel", "the thread is for another contract")
    locked = _lock_pair(thread.sender, thread.receiver)
    if thread.sender not in locked or thread.receiver not in locked:
        raise NotFound(errors.CHANNEL_NOT_OPEN, "both thread parties need a channel with the hub")
    sc, rc = locked[thread.sender], locked[thread.receiver]
    for ch in (sc, rc):
        if ch.status != Channel.Status.OPEN:
            raise Conflict(errors.CHANNEL_NOT_OPEN, f"{ch.user}'s channel is {ch.status}")
    s_prev, r_prev = channel_state(sc, sc.user), channel_state(rc, rc.user)
    tx_count = parse_uint(request.get("txCount"), "txCount")
    if tx_count != s_prev.tx_count_global + 1:
        raise UpdateRejected("tx_count_global",
                             f"txCount {tx_count} does not follow {s_prev.tx_count_global}")
    pair = ThreadRecord.objects.filter(contract=thread.contract_address, sender=thread.sender,
                                       receiver=thread.receiver)
    if pair.exclude(status=ThreadRecord.Status.CLOSED).exists():
        raise Conflict(THREAD_EXISTS, "a thread between these parties is still open")
    last = pair.order_by("-thread_id").values_list("thread_id", flat=True).first()
    if thread.thread_id != (last or 0) + 1:
        raise UpdateRejected("bad_args", f"threadId must be {(last or 0) + 1}")
    s_init, r_init = initial_threads_of(sc), initial_threads_of(rc)
    _check_client_initial_states(request, s_init)
    wei, token = thread_value(thread)
    if r_prev.balance_wei_hub < wei or r_prev.balance_token_hub < token:
        raise ThreadCollateralShort(thread.receiver, wei, token)
    sig_user = request.get("sigUser")
    if not isinstance(sig_user, str):
        raise UpdateRejected("bad_signature", "missing user signature")
    args = ThreadArgs(thread)
    s_new = apply_update(s_prev, "OpenThread", args, now=0, initial_threads=s_init,
                         hub_address=hub).replace(sig_user=sig_user.lower())
    validate_signed_update(s_prev, s_new, "OpenThread", args, hub_address=hub, now=0,
                           initial_threads=s_init)
    r_new = apply_update(r_prev, "OpenThread", args, now=0, initial_threads=r_init,
                         hub_address=hub)
    record = ThreadRecord.objects.create(
        contract=thread.contract_address, sender=thread.sender, receiver=thread.receiver,
        thread_id=thread.thread_id, sender_channel=sc, receiver_channel=rc,
        initial_wei=thread.balance_wei_sender, initial_token=thread.balance_token_sender,
        initial_sig=thread.sig_a or "")
    first = ThreadUpdate.objects.create(
        thread=record, tx_count=0, balance_wei_sender=thread.balance_wei_sender,
        balance_token_sender=thread.balance_token_sender, sig_a=thread.sig_a or "")
    s_rec = record_state(sc, s_prev, s_new, reason="OpenThread", args=thread.to_json(),
                         originator=user)
    r_rec = record_state(rc, r_prev, r_new, reason="OpenThread", args=thread.to_json(),
                         originator=hub)
    record.latest = first
    record.sender_open_update, record.receiver_open_update = s_rec.update, r_rec.update
    record.save(update_fields=["latest", "sender_open_update", "receiver_open_update",
                               "updated_at"])
    _post_thread_ledger(sc, record, wei, token, f"thread {record.pk} opened")
    _post_thread_ledger(rc, record, wei, token, f"thread {record.pk} opened")
    logger.info("thread %s opened: %s -> %s #%s", record.pk, thread.sender, thread.receiver,
                thread.thread_id)
    return s_rec.update


# --- pay ----------------------------------------------------------------------------------


def _active_thread(sender: str, receiver: str, *, lock: bool) -> ThreadRecord:
    rows = ThreadRecord.objects.filter(contract=contract_address(), sender=sender,
                                       receiver=receiver, status=ThreadRecord.Status.OPEN,
                                       sender_close_update__isnull=True,
                                       receiver_close_update__isnull=True)
    if lock:
        rows = rows.select_for_update(of=("self",))
    found = rows.select_related("latest").first()
    if found is None:
        raise NotFound(THREAD_NOT_FOUND, f"no open thread from {sender} to {receiver}")
    return found


def _record_thread_state(thread: ThreadRecord, new: ThreadState) -> ThreadUpdate:
    row = ThreadUpdate.objects.create(
        thread=thread, tx_count=new.tx_count, balance_wei_sender=new.balance_wei_sender,
        balance_wei_receiver=new.balance_wei_receiver,
        balance_token_sender=new.balance_token_sender,
        balance_token_receiver=new.balance_token_receiver, sig_a=new.sig_a or "")
    thread.latest = row
    thread.save(update_fields=["latest", "updated_at"])
    _push_thread(thread, row)
    return row


def _push_thread(thread: ThreadRecord, row: ThreadUpdate) -> None:
    item = {**row.to_sync_item(), "type": "thread_update"}
    push.push_channel_updates_on_commit(thread.sender, [item])
    push.push_channel_updates_on_commit(thread.receiver, [item])


@transaction.atomic
def thread_pay(*, sender: str, receiver: str, state: Any) -> ThreadUpdate:
    """A thread payment: the sender's next signed thread state (txCount + 1, value moving to
    the receiver only). Posting the same state again returns the stored row."""
    _require_enabled()
    sender, receiver = parse_address(sender, "sender"), parse_address(receiver, "receiver")
    if not isinstance(state, Mapping):
        raise UpdateRejected("bad_args", "update.state must be a thread state")
    new = ThreadState.from_json(state)
    if (new.sender, new.receiver) != (sender, receiver):
        raise UpdateRejected("bad_args", "the state is not for this sender and receiver")
    thread = _active_thread(sender, receiver, lock=True)
    if new.thread_id != thread.thread_id or new.contract_address != thread.contract:
        raise NotFound(THREAD_NOT_FOUND, f"thread {new.thread_id} is not the open one")
    prev = thread.latest_state()
    if new.tx_count <= prev.tx_count:
        existing = ThreadUpdate.objects.filter(thread=thread, tx_count=new.tx_count).first()
        if existing is not None and existing.to_state(thread) == new:
            return existing
        raise Conflict("thread_update_conflict",
                       f"thread txCount {new.tx_count} is not after {prev.tx_count}")
    validate_thread_payment(prev, new, hub_address=hub_address())
    return _record_thread_state(thread, new)


# --- close --------------------------------------------------------------------------------


def _close_state(thread: ThreadRecord, offered: ThreadState) -> ThreadState:
    """The state a close settles on: the hub's latest, or a newer valid one the caller holds
    (recorded first). An older one is refused."""
    latest = thread.latest_state()
    if offered.tx_count < latest.tx_count:
        raise UpdateRejected("state_mismatch",
                             f"close with the thread's latest state (txCount {latest.tx_count})")
    if offered.tx_count == latest.tx_count:
        if replace(offered, sig_a=None) != replace(latest, sig_a=None):
            raise UpdateRejected("state_mismatch", "the thread state differs from the hub's")
        return latest
    check_thread_state(offered, hub_address=hub_address())
    check_thread_transition(latest, offered, strict=True)
    _record_thread_state(thread, offered)
    return offered


def _close_in(channel: Channel, thread: ThreadRecord, state: ThreadState, *,
              sig_user: str | None, originator: str) -> Recorded:
    prev = channel_state(channel, channel.user)
    initial = initial_threads_of(channel)
    args = ThreadArgs(state)
    new = apply_update(prev, "CloseThread", args, now=0, initial_threads=initial,
                       hub_address=hub_address())
    if sig_user is not None:
        new = new.replace(sig_user=sig_user.lower())
        validate_signed_update(prev, new, "CloseThread", args, hub_address=hub_address(), now=0,
                               initial_threads=initial)
    recorded = record_state(channel, prev, new, reason="CloseThread", args=state.to_json(),
                            originator=originator)
    wei, token = thread_value(state)
    _post_thread_ledger(channel, thread, -wei, -token, f"thread {thread.pk} closed")
    side = _side(thread, channel)
    setattr(thread, f"{side}_close_update", recorded.update)
    thread.save(update_fields=[f"{side}_close_update", "updated_at"])
    return recorded


def _finish_if_closed(thread: ThreadRecord) -> None:
    done = all(
        getattr(thread, f"{side}_close_update_id") is not None
        or getattr(thread, f"{side}_settled_on_chain")
        for side in ("sender", "receiver"))
    if done and thread.status != ThreadRecord.Status.CLOSED:
        thread.status = ThreadRecord.Status.CLOSED
        thread.closed_at = timezone.now()
        thread.save(update_fields=["status", "closed_at", "updated_at"])


@transaction.atomic
def thread_close(*, user: str, request: Mapping[str, Any]) -> ChannelUpdate:
    """CloseThread signed by the sender or the receiver in its own channel, with the thread's
    latest state; the hub mirrors it (hub-signed) in the other party's channel when that channel
    is open, else `threads_settle` does it later."""
    offered = _thread_args(request.get("args"))
    if user not in (offered.sender, offered.receiver):
        raise UpdateRejected("wrong_channel", "the channel's user is not a member of the thread")
    locked = _lock_pair(offered.sender, offered.receiver)
    channel = locked.get(user)
    if channel is None:
        raise NotFound(errors.CHANNEL_NOT_OPEN, f"no channel for {user}")
    if channel.status != Channel.Status.OPEN:
        raise Conflict(errors.CHANNEL_NOT_OPEN, f"the channel is {channel.status}")
    thread = (ThreadRecord.objects.select_for_update(of=("self",)).select_related("latest")
              .filter(contract=contract_address(), sender=offered.sender,
                      receiver=offered.receiver, thread_id=offered.thread_id)
              .exclude(status=ThreadRecord.Status.CLOSED).first())
    if thread is None or not thread.in_root_of(channel.pk):
        raise NotFound(THREAD_NOT_FOUND, "the thread is not open in this channel")
    prev = channel_state(channel, user)
    tx_count = parse_uint(request.get("txCount"), "txCount")
    if tx_count != prev.tx_count_global + 1:
        raise UpdateRejected("tx_count_global",
                             f"txCount {tx_count} does not follow {prev.tx_count_global}")
    sig_user = request.get("sigUser")
    if not isinstance(sig_user, str):
        raise UpdateRejected("bad_signature", "missing user signature")
    final = _close_state(thread, offered)
    recorded = _close_in(channel, thread, final, sig_user=sig_user, originator=user)
    other_user = offered.receiver if user == offered.sender else offered.sender
    other = locked.get(other_user)
    if other is not None:
        _mirror_close(other, thread, final)
    _finish_if_closed(thread)
    return recorded.update


def _mirror_close(channel: Channel, thread: ThreadRecord, final: ThreadState) -> bool:
    """The hub-signed CloseThread in the other party's channel, when it can be signed now."""
    if channel.status != Channel.Status.OPEN or not thread.in_root_of(channel.pk):
        return False
    try:
        with transaction.atomic():
            _close_in(channel, thread, final, sig_user=None, originator=hub_address())
    except UpdateRejected as exc:  # e.g. a pending timed deposit there: settle later
        logger.info("thread %s: close in %s deferred: %s", thread.pk, channel.user, exc)
        return False
    return True


def threads_settle(*, limit: int = 100) -> int:
    """Mirror closes that could not be signed at once (the other channel was busy). Returns how
    many threads were finished."""
    ids = list(ThreadRecord.objects.exclude(status=ThreadRecord.Status.CLOSED)
               .filter(Q(sender_close_update__isnull=False) | Q(receiver_close_update__isnull=False))
               .values_list("pk", flat=True)[:limit])
    done = 0
    for pk in ids:
        with transaction.atomic():
            found = ThreadRecord.objects.get(pk=pk)
            locked = _lock_pair(found.sender, found.receiver)
            thread = ThreadRecord.objects.select_for_update(of=("self",)).select_related(
                "latest").get(pk=pk)
            final = thread.latest_state()
            for side in ("sender", "receiver"):
                channel = locked.get(getattr(thread, side))
                if channel is not None and thread.in_root_of(channel.pk):
                    _mirror_close(channel, thread, final)
            _finish_if_closed(thread)
            done += thread.status == ThreadRecord.Status.CLOSED
    return done


def thread_find(*, sender: str, receiver: str) -> ThreadRecord | None:
    return (ThreadRecord.objects.filter(contract=contract_address(), sender=sender.lower(),
                                        receiver=receiver.lower())
            .exclude(status=ThreadRecord.Status.CLOSED).select_related("latest").first())

