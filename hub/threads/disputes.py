"""The watchtower for threads: when a channel ends in thread dispute on chain (DidEmptyChannel with
threads still in its root), the hub exits each of its threads with the latest sender-signed state
it holds, challenges any older state a user exits with, empties the thread after its closing
time, and settles the thread in the other party's channel with the state the chain settled on.

Durability follows hub/disputes: every decision is a `ThreadDispute` row plus an outbox
transaction written in the DB transaction that made it (retried and fee-bumped until mined); a
failed transaction is decided again (`thread_dispute_advance`), and the periodic watch decides
every open dispute by the chain's clock. Lock order: the channel row, then the thread dispute."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from web3 import Web3

from hub.chain.channel_manager import channel_manager
from hub.chain.models import ChainTransaction
from hub.chain.outbox import transaction_cancel_unsent, transaction_enqueue
from hub.channels.models import Channel, ChannelUpdate
from hub.channels.records import (
    channel_state,
    contract_address,
    hub_address,
    lock_channel,
    record_state,
)
from hub.core import DidEmptyChannel, ThreadState, apply_update, thread_proof, thread_root
from hub.core.state import ZERO_ROOT
from hub.disputes import onchain
from hub.disputes.watch import advance_each
from hub.threads.models import ThreadDispute, ThreadRecord, ThreadUpdate
from hub.threads.services import _finish_if_closed, _mirror_close, _post_thread_ledger
from ops import jobs
from ops.services import alarm_raise

logger = logging.getLogger(__name__)

Status = ThreadDispute.Status
TxState = ChainTransaction.State
ON_COMPLETE = "hub.threads.disputes.action_completed"
RETRY_DELAY_MS = 2_000
ACTIVE = (Status.PENDING, Status.IN_PERIOD)


def _alarm(kind: str, key: str, message: str, **detail: object) -> None:
    alarm_raise(kind=kind, key=key, message=message, severity="critical",
                detail={k: str(v) for k, v in detail.items()})


# --- chain reads and call-data ------------------------------------------------------------


@dataclass(frozen=True)
class OnChainThread:
    tx_count: int
    closing_time: int
    emptied: tuple[bool, bool]


def thread_on_chain(thread: ThreadRecord) -> OnChainThread:
    r = channel_manager().functions.getThread(
        Web3.to_checksum_address(thread.sender), Web3.to_checksum_address(thread.receiver),
        thread.thread_id).call()
    return OnChainThread(tx_count=int(r[4]), closing_time=int(r[5]), emptied=(bool(r[6]), bool(r[7])))


def _cs(address: str) -> str:
    return Web3.to_checksum_address(address)


def _initial_args(t: ThreadState) -> list[Any]:
    return [[t.balance_wei_sender, 0], [t.balance_token_sender, 0]]


def _proof(dispute: ThreadDispute) -> bytes:
    leaves = [r.initial_state() for r in
              ThreadRecord.objects.filter(pk__in=dispute.root_thread_ids).order_by("pk")]
    return bytes.fromhex(thread_proof(dispute.thread.initial_state(), leaves)[2:])


def encode_start(dispute: ThreadDispute, latest: ThreadState) -> tuple[str, str]:
    thread, user = dispute.thread, dispute.channel.user
    initial = thread.initial_state()
    fn = channel_manager()
    if latest.tx_count == 0:
        return "start_exit_thread", str(fn.encode_abi("startExitThread", args=[
            _cs(user), _cs(thread.sender), _cs(thread.receiver), thread.thread_id,
            *_initial_args(initial), _proof(dispute), initial.sig_a]))
    return "start_exit_thread_with_update", str(fn.encode_abi("startExitThreadWithUpdate", args=[
        _cs(user), [_cs(thread.sender), _cs(thread.receiver)], thread.thread_id,
        *_initial_args(initial), _proof(dispute), initial.sig_a,
        [latest.balance_wei_sender, latest.balance_wei_receiver],
        [latest.balance_token_sender, latest.balance_token_receiver], latest.tx_count,
        latest.sig_a]))


def encode_challenge(latest: ThreadState) -> str:
    return str(channel_manager().encode_abi("challengeThread", args=[
        _cs(latest.sender), _cs(latest.receiver), latest.thread_id,
        [latest.balance_wei_sender, latest.balance_wei_receiver],
        [latest.balance_token_sender, latest.balance_token_receiver], latest.tx_count,
        latest.sig_a]))


def encode_empty(dispute: ThreadDispute) -> str:
    thread = dispute.thread
    initial = thread.initial_state()
    return str(channel_manager().encode_abi("emptyThread", args=[
        _cs(dispute.channel.user), _cs(thread.sender), _cs(thread.receiver), thread.thread_id,
        *_initial_args(initial), _proof(dispute), initial.sig_a]))


# --- beginning ----------------------------------------------------------------------------


def thread_disputes_begin(*, user: str) -> list[ThreadDispute]:
    """The channel was emptied with threads open: open a ThreadDispute for each thread of the
    root it was emptied with and queue the hub's exit of each. Idempotent."""
    channel = lock_channel(user)
    if channel.status != Channel.Status.THREAD_DISPUTE:
        return []
    emptied: ChannelUpdate | None = channel.latest_update
    assert emptied is not None
    settled = emptied.tx_count_global - 1  # the state the contract settled on
    candidates = []
    for t in ThreadRecord.objects.filter(sender_channel=channel) | ThreadRecord.objects.filter(
            receiver_channel=channel):
        side = "sender" if t.sender_channel_id == channel.pk else "receiver"
        opened = getattr(t, f"{side}_open_update")
        closed = getattr(t, f"{side}_close_update")
        if getattr(t, f"{side}_settled_on_chain") or opened is None:
            continue
        if opened.tx_count_global <= settled and (closed is None or closed.tx_count_global > settled):
            candidates.append(t)
    leaves = [t.initial_state() for t in candidates]
    if len(leaves) != emptied.thread_count or thread_root(leaves) != emptied.thread_root:
        _alarm("thread_dispute_root", f"channel:{channel.pk}",
               f"{channel.user}'s channel is in thread dispute with a threadRoot the hub cannot "
               "rebuild from its threads", root=emptied.thread_root)
        return []
    made = []
    for t in candidates:
        side = "sender" if t.sender_channel_id == channel.pk else "receiver"
        closed = getattr(t, f"{side}_close_update")
        if closed is not None:  # signed above the settled state: it never took effect
            setattr(t, f"{side}_close_update", None)
        t.status = ThreadRecord.Status.DISPUTE
        t.save()
        dispute, _created = ThreadDispute.objects.get_or_create(
            thread=t, channel=channel, defaults={"root_thread_ids": [c.pk for c in candidates]})
        if dispute.status in ACTIVE:
            _decide(dispute, onchain.chain_now())
        made.append(dispute)
    return made


# --- deciding -----------------------------------------------------------------------------


def _in_flight(tx_id: int | None) -> bool:
    return tx_id is not None and ChainTransaction.objects.filter(
        pk=tx_id, state__in=[TxState.NEW, TxState.SUBMITTED]).exists()


def _queue(dispute: ThreadDispute, action: str, data: str) -> ChainTransaction:
    dispute.action_attempts += 1
    tx = transaction_enqueue(
        purpose=f"thread_{action}"[:64], to=dispute.channel.contract, data=data,
        idempotency_key=f"thread-dispute:{dispute.pk}:{dispute.action_attempts}",
        on_complete=ON_COMPLETE)
    dispute.last_action, dispute.action_transaction = action, tx
    dispute.save(update_fields=["action_attempts", "last_action", "action_transaction",
                                "updated_at"])
    logger.info("thread dispute %s: %s queued (tx %s)", dispute.pk, action, tx.pk)
    return tx


def _decide(dispute: ThreadDispute, now: int) -> ChainTransaction | None:
    """Queue the hub's next move (the caller holds the channel lock):
    - the thread's exit has not started on chain: start it with the hub's latest state;
    - it runs and the chain holds an older state than the hub: challengeThread;
    - its closing time has passed and this channel's side is not emptied: emptyThread."""
    if dispute.status not in ACTIVE:
        return None
    thread = ThreadRecord.objects.select_related("latest").get(pk=dispute.thread_id)
    dispute.thread = thread
    latest = thread.latest_state()
    chain = thread_on_chain(thread)
    if _in_flight(dispute.action_transaction_id):
        # A queued start that someone else's start overtook can only revert: drop it if unsent.
        stale_start = dispute.last_action.startswith("start") and chain.closing_time != 0
        tx_id = dispute.action_transaction_id
        if not (stale_start and tx_id is not None and transaction_cancel_unsent(tx_id)):
            return None
    side = 0 if dispute.channel.user == thread.sender else 1
    if chain.emptied[side]:
        return None  # its DidEmptyThread finishes the dispute
    if chain.closing_time == 0:
        action, data = encode_start(dispute, latest)
        return _queue(dispute, action, data)
    if dispute.status != Status.IN_PERIOD or dispute.closing_time != chain.closing_time:
        dispute.status, dispute.closing_time = Status.IN_PERIOD, chain.closing_time
        dispute.onchain_tx_count = chain.tx_count
        dispute.save(update_fields=["status", "closing_time", "onchain_tx_count", "updated_at"])
    if now < chain.closing_time:
        if chain.tx_count < latest.tx_count:
            return _queue(dispute, "challenge", encode_challenge(latest))
        return None
    return _queue(dispute, "empty", encode_empty(dispute))


@transaction.atomic
def thread_dispute_advance(*, dispute_id: int) -> ThreadDispute:
    found = ThreadDispute.objects.get(pk=dispute_id)
    Channel.objects.select_for_update().get(pk=found.channel_id)
    dispute = ThreadDispute.objects.select_for_update().select_related("channel").get(pk=dispute_id)
    _decide(dispute, onchain.chain_now())
    return dispute


def thread_disputes_watch() -> int:
    ids = ThreadDispute.objects.filter(status__in=ACTIVE).values_list("pk", flat=True)
    return advance_each("thread dispute", ids, thread_dispute_advance)


def action_completed(tx: ChainTransaction) -> None:
    """Outbox callback: a failed move is decided again shortly (success acts through events)."""
    if tx.state != TxState.FAILED:
        return
    dispute = ThreadDispute.objects.filter(action_transaction=tx, status__in=ACTIVE).first()
    if dispute is None:
        return
    logger.warning("thread dispute %s: %s failed (%s); deciding again", dispute.pk,
                   dispute.last_action, tx.revert_reason or tx.failure_reason)
    dispute_id = dispute.pk
    transaction.on_commit(
        lambda: jobs.send("advance_thread_dispute", dispute_id, delay_ms=RETRY_DELAY_MS), robust=True)


# --- events -------------------------------------------------------------------------------


def _thread_of(sender: str, receiver: str, thread_id: int) -> ThreadRecord | None:
    return ThreadRecord.objects.filter(contract=contract_address(), sender=sender.lower(),
                                       receiver=receiver.lower(), thread_id=thread_id).first()


@transaction.atomic
def thread_exit_seen(*, sender: str, receiver: str, thread_id: int, tx_count: int,
                     block_number: int | None) -> None:
    """DidStartExitThread / DidChallengeThread: the chain's thread state changed; every dispute
    of the thread decides again (a state older than the hub's is challenged at once)."""
    thread = _thread_of(sender, receiver, thread_id)
    if thread is None:
        return
    for pk in ThreadDispute.objects.filter(thread=thread, status__in=ACTIVE).values_list(
            "pk", flat=True):
        found = ThreadDispute.objects.get(pk=pk)
        Channel.objects.select_for_update().get(pk=found.channel_id)
        dispute = ThreadDispute.objects.select_for_update().select_related("channel").get(pk=pk)
        dispute.onchain_tx_count = tx_count
        dispute.save(update_fields=["onchain_tx_count", "updated_at"])
        _decide(dispute, onchain.chain_now())


def _reopen(channel: Channel, transaction_hash: str, chain_event_id: int | None) -> None:
    """The contract re-opened the channel (no thread left in it): record the all-zero state
    without threads, one nonce up, so the next state the hub signs carries the chain's root."""
    prev = channel_state(channel, channel.user)
    if prev.thread_count == 0 and channel.status == Channel.Status.OPEN:
        return
    event = DidEmptyChannel(contract_address=channel.contract, user=channel.user, sender_idx=0,
                            wei_balances=(0, 0), token_balances=(0, 0),
                            tx_count=(prev.tx_count_global, prev.tx_count_chain),
                            thread_root=ZERO_ROOT, thread_count=0)
    args = {"transactionHash": transaction_hash}
    new = apply_update(prev, "EmptyChannel", args, now=0, event=event)
    record_state(channel, prev, new, reason="EmptyChannel", args=args, originator=hub_address(),
                 chain_event_id=chain_event_id)
    channel.status = Channel.Status.OPEN
    channel.save(update_fields=["status", "updated_at"])


def _settled_state(thread: ThreadRecord, tx_count: int) -> ThreadState | None:
    if tx_count == 0:
        return thread.initial_state()
    row = ThreadUpdate.objects.filter(thread=thread, tx_count=tx_count).first()
    return None if row is None else row.to_state(thread)


def _settle_side(channel: Channel, thread: ThreadRecord, *, status: str,
                 transaction_hash: str) -> None:
    side = "sender" if thread.sender_channel_id == channel.pk else "receiver"
    setattr(thread, f"{side}_settled_on_chain", True)
    thread.save(update_fields=[f"{side}_settled_on_chain", "updated_at"])
    wei, token = thread.initial_wei, thread.initial_token
    _post_thread_ledger(channel, thread, -wei, -token, f"thread {thread.pk} settled on chain")
    ThreadDispute.objects.filter(thread=thread, channel=channel, status__in=ACTIVE).update(
        status=status, finished_at=timezone.now())


def _settle_other(thread: ThreadRecord, exited: Channel, tx_count: int) -> None:
    """Close the thread in the other party's channel with the state the chain settled on."""
    other_id = thread.receiver_channel_id if exited.pk == thread.sender_channel_id \
        else thread.sender_channel_id
    other = Channel.objects.select_for_update().get(pk=other_id)
    final = _settled_state(thread, tx_count)
    if final is None:
        _alarm("thread_settle_unknown_state", f"thread:{thread.pk}",
               f"thread {thread.pk} settled on chain at txCount {tx_count}, a state the hub "
               "never saw; close it in the other channel by hand", thread_id=thread.pk)
        return
    if thread.in_root_of(other.pk) and thread.latest_state().tx_count != final.tx_count:
        _alarm("thread_settled_older", f"thread:{thread.pk}",
               f"thread {thread.pk} settled on chain at txCount {tx_count}, below the hub's "
               f"latest {thread.latest_state().tx_count}", thread_id=thread.pk)
    _mirror_close(other, thread, final)
    _finish_if_closed(thread)


@transaction.atomic
def thread_emptied(*, user: str, sender: str, receiver: str, thread_id: int,
                   channel_thread_count: int, transaction_hash: str,
                   chain_event_id: int | None) -> None:
    """DidEmptyThread: this channel's side of the thread is paid out; settle the other side
    off-chain, and when no thread is left the channel is open again."""
    channel = lock_channel(user)
    thread = _thread_of(sender, receiver, thread_id)
    if thread is None:
        return
    thread = ThreadRecord.objects.select_for_update(of=("self",)).get(pk=thread.pk)
    side = "sender" if thread.sender_channel_id == channel.pk else "receiver"
    if getattr(thread, f"{side}_settled_on_chain"):
        return  # delivered twice
    _settle_side(channel, thread, status=Status.EMPTIED, transaction_hash=transaction_hash)
    chain = thread_on_chain(thread)
    _settle_other(thread, channel, chain.tx_count)
    if channel_thread_count == 0:
        _reopen(channel, transaction_hash, chain_event_id)


@transaction.atomic
def threads_nuked(*, user: str, transaction_hash: str, chain_event_id: int | None) -> None:
    """DidNukeThreads: the contract paid everything left in the channel to the user; every thread
    of its root is settled on chain on this side."""
    channel = lock_channel(user)
    for dispute in ThreadDispute.objects.filter(channel=channel, status__in=ACTIVE).select_related(
            "thread"):
        thread = ThreadRecord.objects.select_for_update(of=("self",)).get(pk=dispute.thread_id)
        _settle_side(channel, thread, status=Status.NUKED, transaction_hash=transaction_hash)
        _settle_other(thread, channel, thread.latest_state().tx_count)
    _reopen(channel, transaction_hash, chain_event_id)
