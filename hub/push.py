"""WebSocket pushes from the hub. Group names live here and nowhere else. Every push is sent
after the database commit that produced it (`transaction.on_commit`), from a background event
loop: a request never waits for Redis to deliver its pushes."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.db import transaction

logger = logging.getLogger(__name__)

SUBSCRIBE_GROUP = "hub.subscribe"


def channel_group(user: str) -> str:
    return f"hub.channel.{user.lower()}"


class _Pusher:
    """One asyncio loop thread per process that sends group messages in submission order."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        # messages waiting for the loop, and the one drain that sends them (guarded by _queue_lock)
        self._queue_lock = threading.Lock()
        self._pending: list[tuple[str, dict[str, Any]]] = []
        self._drain: Any = None  # the concurrent.futures.Future of the running drain

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or not self._loop.is_running():
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                threading.Thread(target=run, name="spoke-push", daemon=True).start()
                ready.wait(5)
                self._loop = loop
            return self._loop

    def send(self, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """Queue `messages` after those already queued. One drain at a time sends the queue in
        order, so a commit of hundreds of states (a block's deposits) wakes the loop once, not
        once per state."""
        layer = get_channel_layer()
        if layer is None or not messages:
            return
        with self._queue_lock:
            self._pending.extend(messages)
            if self._drain is not None and not self._drain.done():
                return  # the running drain takes them before it ends
            self._drain = asyncio.run_coroutine_threadsafe(self._deliver(layer), self._ensure_loop())

    async def _deliver(self, layer: Any) -> None:
        while True:
            with self._queue_lock:
                messages, self._pending = self._pending, []
                if not messages:
                    self._drain = None
                    return
            if await _publish_pipelined(layer, messages):
                continue
            for group, payload in messages:
                try:
                    await layer.group_send(group, {"type": "push", "text": json.dumps(payload)})
                except Exception:  # best effort: clients resync on a sequence gap or by polling
                    logger.warning("push to %s failed", group, exc_info=True)


async def _publish_pipelined(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> bool:
    """Send `messages` through channels_redis's pub/sub layer as one pipeline of PUBLISHes per
    Redis shard, in order: what `group_send` does for one message, one round trip for all of
    them (a group_send per message, each a round trip through redis-py's async client, was a
    tenth of a web process's samples on the payment path: py-spy, bench/payments_bench.py).
    False when the layer is another kind (the caller sends one by one)."""
    if not isinstance(layer, RedisPubSubChannelLayer):
        return False
    loop_layer = layer._get_layer()
    by_shard: dict[Any, list[tuple[str, bytes]]] = {}
    for group, payload in messages:
        channel = loop_layer._get_group_channel_name(group)
        by_shard.setdefault(loop_layer._get_shard(channel), []).append(
            (channel, layer.serialize({"type": "push", "text": json.dumps(payload)})))
    for shard, items in by_shard.items():
        try:
            async with shard._lock:
                shard._ensure_redis()
                pipe = shard._redis.pipeline(transaction=False)
                for channel, data in items:
                    pipe.publish(channel, data)
                await pipe.execute()
        except Exception:  # best effort: clients resync on a sequence gap or by polling
            logger.warning("%d pushes failed", len(items), exc_info=True)
    return True


_pusher = _Pusher()


def send_groups(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Send `(group, payload)` pushes now, in order, without waiting for Redis (call it after
    the commit that produced them)."""
    _pusher.send(messages)


def broadcast_subscribers(payload: dict[str, Any]) -> None:
    """The Connext-compatible broadcast on /api/hub/subscribe ({"type", "data"})."""
    send_groups([(SUBSCRIBE_GROUP, payload)])


def push_channel_updates_on_commit(user: str, items: list[dict[str, Any]]) -> None:
    """Queue `{type:'channel_update', seq, update}` messages for after the current commit."""
    if not items:
        return
    messages = [(channel_group(user), item) for item in items]
    transaction.on_commit(lambda: send_groups(messages))
