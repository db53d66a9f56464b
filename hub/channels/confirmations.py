"""What the chain settles: pending operations confirmed by a DidUpdateChannel event, and
pending states whose timeout passed by the ingested block time."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F

from hub.chain.models import ChainTransaction
from hub.channels.errors import ChannelError
from hub.channels.models import ChannelUpdate
from hub.channels.records import (
    channel_find,
    channel_state,
    contract_address,
    hub_address,
    ingested_block_time,
    lock_channel,
    record_state,
)
from hub.channels.updates import channel_invalidate
from hub.core import (
    DidUpdateChannel,
    UpdateRejected,
    apply_update,
)

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
    channel = lock_channel(user)
    prev = channel_state(channel, user)
    if not prev.has_pending_ops:
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


def channels_invalidate_timed_out(*, limit: int = 100) -> int:
    """Invalidate pending states whose timeout has passed by the ingested block time (so their
    operation did not happen on-chain before it). A state with a hub transaction still in
    flight is left to the outbox (its failure invalidates it through the completion callback).
    Returns how many."""

    now = ingested_block_time()
    candidates = (
        ChannelUpdate.objects.filter(channel__latest_update=F("pk"), timeout__gt=0,
                                     timeout__lt=now, invalid__isnull=True)
        .select_related("channel")[:limit]
    )
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
