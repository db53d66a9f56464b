"""Handlers for ChannelManager events (registered with the ingester when the hub app loads).
Each runs once per event, inside the transaction that marks the event processed."""

from __future__ import annotations

from typing import Any

from hub.chain.ingest import register_event_handler
from hub.channels.confirmations import channel_confirm_pending, channels_confirm_pending
from hub.core import DidUpdateChannel


def did_update_channel_from(event: Any) -> DidUpdateChannel:
    a = event.args
    return DidUpdateChannel(
        contract_address=event.contract.lower(),
        user=str(a["user"]).lower(),
        sender_idx=int(a["senderIdx"]),
        wei_balances=(int(a["weiBalances"][0]), int(a["weiBalances"][1])),
        token_balances=(int(a["tokenBalances"][0]), int(a["tokenBalances"][1])),
        pending_wei_updates=tuple(int(v) for v in a["pendingWeiUpdates"]),  # type: ignore[arg-type]
        pending_token_updates=tuple(int(v) for v in a["pendingTokenUpdates"]),  # type: ignore[arg-type]
        tx_count=(int(a["txCount"][0]), int(a["txCount"][1])),
        thread_root=str(a["threadRoot"]).lower(),
        thread_count=int(a["threadCount"]),
    )


def on_did_update_channel(event: Any) -> None:
    channel_confirm_pending(event=did_update_channel_from(event), transaction_hash=event.tx_hash,
                            chain_event_id=event.pk)


def on_did_update_channels(events: list[Any]) -> None:
    """`on_did_update_channel` for a run of events in chain order, in a handful of statements."""
    channels_confirm_pending(confirmations=[(did_update_channel_from(e), e.tx_hash, e.pk) for e in events])


def register() -> None:
    register_event_handler("DidUpdateChannel", on_did_update_channel, replace=True,
                           batch=on_did_update_channels)
