"""The channel hub's on-chain legs, through the transaction outbox, and the completion callback
that undoes a state whose transaction failed."""

from __future__ import annotations

import logging
from typing import Any

from hub.channels.models import ChannelUpdate
from hub.core import ChannelState, UpdateRejected

logger = logging.getLogger(__name__)

ON_COMPLETE = "hub.channels.onchain.hub_update_completed"


def enqueue_hub_authorized_update(state: ChannelState, *, update_id: int) -> Any:
    """Queue `hubAuthorizedUpdate` for a double-signed state (inside the caller's transaction;
    sent after commit). Idempotent on the stored update."""
    from django.conf import settings

    from hub.chain.channel_manager import encode_hub_authorized_update
    from hub.chain.outbox import transaction_enqueue

    return transaction_enqueue(
        purpose="hub_authorized_update",
        to=str(settings.CHANNEL_MANAGER_ADDRESS),
        data=encode_hub_authorized_update(state),
        idempotency_key=f"channel-update:{update_id}",
        on_complete=ON_COMPLETE,
    )


def hub_update_completed(tx: Any) -> None:
    """Outbox callback (runs once, in the transaction that records the outcome). A failed
    transaction leaves its state's pending operations to be invalidated: at once when the state
    has no timeout, else by the timeout sweep once block time passes it (until then the core
    refuses, because the state could still be executed)."""
    if tx.state != "failed":
        return
    row = ChannelUpdate.objects.select_related("channel").filter(chain_transaction_id=tx.pk).first()
    if row is None:
        return
    from hub.channels.services import channel_invalidate

    try:
        channel_invalidate(user=row.channel.user, reason="CU_INVALID_ERROR",
                           message=f"transaction failed: {tx.revert_reason or 'dropped'}"[:200],
                           only_tx_count=row.tx_count_global)
    except UpdateRejected as exc:
        logger.info("invalidation of update %s deferred: %s", row.pk, exc.code)


def cancel_if_unsent(tx_id: int) -> bool:
    """Cancel a hub transaction that has not been broadcast yet. False when it may be on-chain."""
    from hub.chain.outbox import transaction_cancel_unsent

    return bool(transaction_cancel_unsent(tx_id))
