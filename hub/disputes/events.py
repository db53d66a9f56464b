"""Handlers for the ChannelManager's dispute events (registered with the ingester when the hub
app loads). Each runs once per event, inside the transaction that marks the event processed."""

from __future__ import annotations

from typing import Any

from hub.chain.ingest import register_event_handler
from hub.core import DidEmptyChannel
from hub.disputes.services import ExitStarted, dispute_record_empty, dispute_record_start


def exit_started_from(event: Any) -> ExitStarted:
    a = event.args
    return ExitStarted(
        contract_address=event.contract.lower(),
        user=str(a["user"]).lower(),
        sender_idx=int(a["senderIdx"]),
        tx_count=(int(a["txCount"][0]), int(a["txCount"][1])),
        thread_count=int(a["threadCount"]),
        block_number=int(event.block_number),
    )


def did_empty_channel_from(event: Any) -> DidEmptyChannel:
    a = event.args
    return DidEmptyChannel(
        contract_address=event.contract.lower(),
        user=str(a["user"]).lower(),
        sender_idx=int(a["senderIdx"]),
        wei_balances=(int(a["weiBalances"][0]), int(a["weiBalances"][1])),
        token_balances=(int(a["tokenBalances"][0]), int(a["tokenBalances"][1])),
        tx_count=(int(a["txCount"][0]), int(a["txCount"][1])),
        thread_root=str(a["threadRoot"]).lower(),
        thread_count=int(a["threadCount"]),
    )


def on_did_start_exit_channel(event: Any) -> None:
    dispute_record_start(event=exit_started_from(event), chain_event_id=event.pk)


def on_did_empty_channel(event: Any) -> None:
    dispute_record_empty(event=did_empty_channel_from(event), transaction_hash=event.tx_hash,
                         chain_event_id=event.pk)


def register() -> None:
    register_event_handler("DidStartExitChannel", on_did_start_exit_channel, replace=True)
    register_event_handler("DidEmptyChannel", on_did_empty_channel, replace=True)
