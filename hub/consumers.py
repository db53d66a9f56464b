"""WebSocket consumers of the hub.

`/api/hub/subscribe`: the Connext-compatible broadcast of exchange rates and gas prices (no auth;
public data). `/ws/channel/`: pushes every new state of the authenticated user's channel with a
sequence number; the same signed nonce as the HTTP API authenticates it (query parameters
`address`, `nonce`, `signature`, or the `x-*` headers)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from hub.auth import AuthFailed, authenticate
from hub.push import SUBSCRIBE_GROUP, channel_group


class SubscribeConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        await self.channel_layer.group_add(SUBSCRIBE_GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(SUBSCRIBE_GROUP, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return  # clients only listen

    async def push(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


def _credentials(scope: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    query = parse_qs(scope.get("query_string", b"").decode())
    headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}

    def pick(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else headers.get(f"x-{name}")

    return pick("address"), pick("nonce"), pick("signature")


class ChannelConsumer(AsyncWebsocketConsumer):
    user: str | None = None

    async def connect(self) -> None:
        try:
            self.user = await sync_to_async(authenticate)(*_credentials(self.scope))
        except AuthFailed:
            await self.close(code=4403)
            return
        await self.channel_layer.group_add(channel_group(self.user), self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps({"type": "hello", "user": self.user}))

    async def disconnect(self, code: int) -> None:
        if self.user:
            await self.channel_layer.group_discard(channel_group(self.user), self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return

    async def push(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])
