"""WebSocket pushes from the hub. Group names live here and nowhere else. Every push is sent
after the database commit that produced it (`transaction.on_commit`)."""

from __future__ import annotations

import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

SUBSCRIBE_GROUP = "hub.subscribe"


def channel_group(user: str) -> str:
    return f"hub.channel.{user.lower()}"


def _send(group: str, payload: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": "push", "text": json.dumps(payload)})
    except Exception:  # a push is best effort: clients resync on a sequence gap or by polling
        logger.warning("push to %s failed", group, exc_info=True)


def broadcast_subscribers(payload: dict[str, Any]) -> None:
    """The Connext-compatible broadcast on /api/hub/subscribe ({"type", "data"})."""
    _send(SUBSCRIBE_GROUP, payload)


def push_channel_updates_on_commit(user: str, items: list[dict[str, Any]]) -> None:
    """Queue `{type:'channel_update', seq, update}` messages for after the current commit."""
    if not items:
        return

    def send() -> None:
        for item in items:
            _send(channel_group(user), item)

    transaction.on_commit(send)
