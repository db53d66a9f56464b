"""`/ws/dashboard/`: the merchant's domain events, live.

Session-authenticated (AuthMiddlewareStack) behind AllowedHostsOriginValidator (threat W7).
A socket joins exactly one group, its current merchant's, after checking that the signed-in
user is still a member; it never chooses a group from client input, so a merchant only ever
receives its own events. `event_record` sends to the group after commit."""

from __future__ import annotations

import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from payments.events.services import dashboard_group


@database_sync_to_async
def _merchant_of(scope: dict[str, Any]) -> int | None:
    from payments.dashboard.selectors import membership_for
    from payments.dashboard.sessions import session_expired
    from payments.dashboard.views.base import SESSION_MERCHANT, SESSION_SIGNED_IN

    user, session = scope.get("user"), scope.get("session")
    if user is None or not user.is_authenticated or session is None or not session.get(SESSION_SIGNED_IN):
        return None
    if session_expired(session, time.time()):  # idle or too old: no live updates either
        return None
    membership = membership_for(user, session.get(SESSION_MERCHANT))
    if membership is None or not membership.allows("balance", "read"):
        return None
    return membership.merchant_id


class DashboardConsumer(AsyncWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        merchant_id = await _merchant_of(self.scope)
        if merchant_id is None:
            await self.close(code=4403)
            return
        self.group = dashboard_group(merchant_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps({"type": "hello", "merchant": merchant_id}))

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return  # the dashboard only listens

    async def push(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])
