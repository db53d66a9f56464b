"""What the chain settles: pending operations confirmed by a DidUpdateChannel event, and
pending states whose timeout passed by the ingested block time."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hub.chain.ingest import WaitingEvent, block_timestamp, waiting_events
from hub.chain.models import ChainEvent, ChainTransaction
from hub.channels.errors import ChannelError
from hub.channels.locks import channels_lock
from hub.channels.models import Channel, ChannelUpdate
from hub.channels.records import (
    channel_find,
    channel_state,
    channel_writes_batched,
    contract_address,
    hub_address,
    lock_channel,
    record_state,
)
from hub.channels.updates import channel_invalidate
from hub.core import (
    DidUpdateChannel,
    UpdateRejected,
    apply_update,
)
from ops.rows import rows_reserve_keys, rows_send_waiting, rows_waiting
from ops.services import alarm_raise

logger = logging.getLogger(__name__)


@transaction.atomic
def channel_confirm_pending(*, event: DidUpdateChannel, transaction_hash: str,
                            chain_event_id: int | None) -> ChannelUpdate | None:
    """ConfirmPending from a DidUpdateChannel event (hub-signed; the user countersigns on sync).
    Idempotent: a second delivery of the same event finds nothing pending and does nothing."""
    user = event.user.lower()
    if event.contract_address.lower() != contract_address():
        return None
    if channel_find(user) is None:
        logger.warning("DidUpdateChannel for %s, who has no channel at this hub", user)
        return None
    return _confirm(lock_channel(user), event, transaction_hash, chain_event_id)


Confirmation = tuple[DidUpdateChannel, str, "int | None"]  # the event, its transaction, its ChainEvent


def channels_confirm_pending(*, confirmations: Sequence[Confirmation]) -> list[ChannelUpdate | None]:
    """`channel_confirm_pending` for each of `confirmations` (event, transaction hash, chain
    event id), in their order, in one transaction: the same states, ledger postings and pushes,
    in a handful of statements for all of them (a block's hundreds of deposits): the channels
    locked in one statement (lowest id first), keys for the new states taken in event order,
    then the states, the postings and the channels' heads in one statement at the end.
    All or nothing: if one raises, nothing is written."""
    contract = contract_address()
    ours = [c for c in confirmations if c[0].contract_address.lower() == contract]
    results: list[ChannelUpdate | None] = []
    with transaction.atomic(), rows_waiting(), channel_writes_batched():
        locked = channels_lock(contract, [event.user for event, _h, _e in ours], create=False)
        # at most one new state per event: each takes the next key, so ids follow event order
        keys = rows_reserve_keys(ChannelUpdate, sum(event.user.lower() in locked for event, _h, _e in ours))
        for event, transaction_hash, chain_event_id in confirmations:
            user = event.user.lower()
            if event.contract_address.lower() != contract:
                results.append(None)
                continue
            channel = locked.get(user)
            if channel is None:
                logger.warning("DidUpdateChannel for %s, who has no channel at this hub", user)
                results.append(None)
                continue
            channel.reserved_keys = {ChannelUpdate: keys}  # type: ignore[attr-defined]
            results.append(_confirm(channel, event, transaction_hash, chain_event_id))
    return results


def _confirm(channel: Channel, event: DidUpdateChannel, transaction_hash: str,
             chain_event_id: int | None) -> ChannelUpdate | None:
    """ConfirmPending on a locked channel."""
    user = channel.user
    prev = channel_state(channel, user)
    if not prev.has_pending_ops:
        rows_send_waiting()  # a state recorded earlier in a batch is read like any other
        already = ChannelUpdate.objects.filter(
            channel=channel, reason="ConfirmPending", args__transactionHash=transaction_hash
        ).first()
        if already is None:
            logger.warning("DidUpdateChannel for %s at txCount %s with nothing pending",
                           user, event.tx_count)
        return already
    args = {"transactionHash": transaction_hash}
    new = apply_update(prev, "ConfirmPending", args, now=0, event=event)
    return record_state(channel, prev, new, reason="ConfirmPending", args=args,
                        originator=hub_address(), chain_event_id=chain_event_id).update


STUCK_AFTER_SECONDS = 60  # a new event not handled this long after it was stored is stuck


def channels_invalidate_timed_out(*, limit: int = 100) -> int:
    """Invalidate pending states whose timeout has passed by the ingested block time (so their
    operation did not happen on-chain before it). A state with a hub transaction still in
    flight is left to the outbox (its failure invalidates it through the completion callback).
    Each channel is judged by its own ingested time: an event still waiting for its handler
    holds back the timeouts of the channels it names (all of them when it names none), and a
    stuck one (failed, or new for a minute) raises an alarm. Returns how many."""

    contract = contract_address()
    cursor, waiting = waiting_events(contract)
    if cursor is None:
        return 0
    held: dict[str, WaitingEvent] = {}
    for event in waiting:
        for user in event.users:
            held.setdefault(user, event)
    unnamed = next((w for w in waiting if not w.users), None)
    head = cursor if unnamed is None else unnamed.block_number - 1
    now = block_timestamp(head) if head >= 0 else 0
    due = ChannelUpdate.objects.filter(channel__latest_update=F("pk"), timeout__gt=0,
                                       invalid__isnull=True)
    candidates = list(due.filter(timeout__lt=now).exclude(channel__user__in=list(held))
                      .select_related("channel")[:limit])
    # The held channels with a timeout passed by `now`, in one query (each channel's own time is
    # at most `now`): a backlog of thousands of waiting events costs one query, not two each.
    # Only these can be invalidated, or be held back by a stuck event.
    times: dict[int, int] = {}
    for row in due.filter(timeout__lt=now, channel__user__in=list(held)).select_related("channel"):
        event = held[row.channel.user]
        own = min(head, event.block_number - 1)
        if own not in times:
            times[own] = block_timestamp(own) if own >= 0 else 0
        if row.timeout < times[own]:
            candidates.append(row)
        _alarm_if_stuck(event, row.channel.user, True)
    done = 0
    for row in candidates:
        tx_id = row.chain_transaction_id
        if tx_id is not None and ChainTransaction.objects.filter(
            pk=tx_id, state__in=[ChainTransaction.State.NEW, ChainTransaction.State.SUBMITTED]
        ).exists():
            continue
        try:
            if channel_invalidate(user=row.channel.user, reason="CU_INVALID_TIMEOUT",
                                  message="timed out", only_tx_count=row.tx_count_global):
                done += 1
        except (UpdateRejected, ChannelError) as exc:
            logger.info("timeout invalidation of %s skipped: %s", row.channel.user, exc)
    return done


def _alarm_if_stuck(event: WaitingEvent, user: str, holds_a_timeout: bool) -> None:
    stuck = event.state == ChainEvent.State.FAILED or (
        timezone.now() - event.created_at).total_seconds() >= STUCK_AFTER_SECONDS
    if not stuck or not holds_a_timeout:
        return
    alarm_raise(kind="timeouts_held", key=f"{user}:event:{event.pk}", severity="critical",
                message=(f"{event.name} event {event.pk} ({event.state}, not handled) holds back "
                         f"the timeouts of channel {user}: {event.error[:200]}"),
                detail={"event_id": event.pk, "user": user, "block_number": event.block_number})
