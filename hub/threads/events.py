"""Handlers for the ChannelManager's thread events, registered with the ingester when the hub app
loads. DidEmptyChannel stays the channel disputes' handler; it is wrapped so that a channel it
leaves in thread dispute gets its thread disputes in the same transaction."""

from __future__ import annotations

from typing import Any

from hub.chain.ingest import register_event_handler, registered_event_handlers
from hub.threads.disputes import (
    thread_disputes_begin,
    thread_emptied,
    thread_exit_seen,
    threads_nuked,
)


def on_did_start_exit_thread(event: Any) -> None:
    a = event.args
    thread_exit_seen(sender=str(a["sender"]), receiver=str(a["receiver"]),
                     thread_id=int(a["threadId"]), tx_count=int(a["txCount"]),
                     block_number=int(event.block_number))


def on_did_challenge_thread(event: Any) -> None:
    on_did_start_exit_thread(event)


def on_did_empty_thread(event: Any) -> None:
    a = event.args
    thread_emptied(user=str(a["user"]).lower(), sender=str(a["sender"]),
                   receiver=str(a["receiver"]), thread_id=int(a["threadId"]),
                   channel_thread_count=int(a["channelThreadCount"]),
                   transaction_hash=event.tx_hash, chain_event_id=event.pk)


def on_did_nuke_threads(event: Any) -> None:
    threads_nuked(user=str(event.args["user"]).lower(), transaction_hash=event.tx_hash,
                  chain_event_id=event.pk)


def _with_thread_disputes(channel_handler: Any) -> Any:
    def on_did_empty_channel(event: Any) -> None:
        channel_handler(event)
        if int(event.args["threadCount"]) > 0:
            thread_disputes_begin(user=str(event.args["user"]).lower())

    on_did_empty_channel.wrapped = channel_handler  # type: ignore[attr-defined]
    return on_did_empty_channel


def register() -> None:
    register_event_handler("DidStartExitThread", on_did_start_exit_thread, replace=True)
    register_event_handler("DidChallengeThread", on_did_challenge_thread, replace=True)
    register_event_handler("DidEmptyThread", on_did_empty_thread, replace=True)
    register_event_handler("DidNukeThreads", on_did_nuke_threads, replace=True)
    current = registered_event_handlers().get("DidEmptyChannel")
    if current is not None and not hasattr(current, "wrapped"):
        register_event_handler("DidEmptyChannel", _with_thread_disputes(current), replace=True)
