"""The channel hub's on-chain legs, through the transaction outbox (the completion callback that
undoes a state whose transaction failed is `hub.channels.updates.hub_update_completed`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from hub.chain.channel_manager import encode_hub_authorized_update
from hub.chain.outbox import transaction_cancel_unsent, transaction_enqueue
from hub.core import ChannelState

ON_COMPLETE = "hub.channels.updates.hub_update_completed"


def enqueue_hub_authorized_update(state: ChannelState, *, update_id: int) -> Any:
    """Queue `hubAuthorizedUpdate` for a double-signed state (inside the caller's transaction;
    sent after commit). Idempotent on the stored update."""
    return transaction_enqueue(
        purpose="hub_authorized_update",
        to=str(settings.CHANNEL_MANAGER_ADDRESS),
        data=encode_hub_authorized_update(state),
        idempotency_key=f"channel-update:{update_id}",
        on_complete=ON_COMPLETE,
    )


def cancel_if_unsent(tx_id: int) -> bool:
    """Cancel a hub transaction that has not been broadcast yet. False when it may be on-chain."""
    return bool(transaction_cancel_unsent(tx_id))
