"""`/ws/dashboard/`: session-authenticated, one group per merchant, events pushed after commit.
Two merchants connected at once each receive only their own events (threat W7)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.test import Client

from config.asgi import application
from payments.events.services import event_record
from tests.dashboard.helpers import make_team, sign_in

pytestmark = [pytest.mark.django_db(transaction=True)]


def _signed_in_cookie(team: Any) -> str:
    client = Client()
    sign_in(client, team.owner)
    return client.cookies["sessionid"].value


def socket(cookie: str | None, origin: str = "http://localhost") -> WebsocketCommunicator:
    headers = [(b"origin", origin.encode()), (b"host", b"localhost")]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)


def record(team: Any, type_: str, marker: str) -> None:
    with transaction.atomic():
        event_record(type=type_, merchant_id=team.merchant.pk, data={"object": {"marker": marker}})


async def test_two_merchants_each_receive_only_their_own_events() -> None:
    alice, bob = await sync_to_async(make_team)("Alice"), await sync_to_async(make_team)("Bob")
    sockets = {}
    for name, team in (("alice", alice), ("bob", bob)):
        s = socket(await sync_to_async(_signed_in_cookie)(team))
        connected, _ = await s.connect()
        assert connected
        hello = json.loads(await s.receive_from())
        assert hello == {"type": "hello", "merchant": team.merchant.pk}
        sockets[name] = s

    await sync_to_async(record)(alice, "payment.succeeded", "a1")
    await sync_to_async(record)(bob, "invoice.paid", "b1")
    await sync_to_async(record)(alice, "settlement.created", "a2")
    await sync_to_async(record)(bob, "link.redeemed", "b2")

    async def two_then_nothing(s: WebsocketCommunicator) -> list[str]:
        got = [json.loads(await s.receive_from(timeout=5))["event"]["data"]["object"]["marker"] for _ in range(2)]
        assert await s.receive_nothing(timeout=0.5)  # and nothing of the other merchant's
        return got

    assert await two_then_nothing(sockets["alice"]) == ["a1", "a2"]
    assert await two_then_nothing(sockets["bob"]) == ["b1", "b2"]
    for s in sockets.values():
        await s.disconnect()


async def test_a_rolled_back_event_is_never_pushed() -> None:
    team = await sync_to_async(make_team)("Careful")
    s = socket(await sync_to_async(_signed_in_cookie)(team))
    assert (await s.connect())[0]
    await s.receive_from()

    def roll_back() -> None:
        try:
            with transaction.atomic():
                event_record(type="payment.succeeded", merchant_id=team.merchant.pk, data={"object": {"marker": "x"}})
                raise RuntimeError("abort")
        except RuntimeError:
            pass

    await sync_to_async(roll_back)()
    assert await s.receive_nothing(timeout=1)
    await s.disconnect()


async def test_a_socket_without_a_dashboard_session_is_refused() -> None:
    s = socket(None)
    connected, _ = await s.connect()
    assert not connected or (await s.receive_output())["type"] == "websocket.close"


async def test_a_foreign_origin_is_refused_even_with_a_session() -> None:
    team = await sync_to_async(make_team)("Origin")
    s = socket(await sync_to_async(_signed_in_cookie)(team), origin="https://evil.example")
    connected, _ = await s.connect()
    assert not connected


def test_the_polling_fallback_returns_only_the_merchants_events_after_the_cursor() -> None:
    alice, bob = make_team("Alice"), make_team("Bob")
    record(alice, "payment.succeeded", "a1")
    record(bob, "payment.succeeded", "b1")
    client = Client()
    sign_in(client, alice.owner)
    first = client.get("/dashboard/events.json", {"after": 0}).json()
    assert [e["event"]["data"]["object"]["marker"] for e in first["events"]] == ["a1"]
    record(alice, "invoice.paid", "a2")
    second = client.get("/dashboard/events.json", {"after": first["cursor"]}).json()
    assert [e["event"]["data"]["object"]["marker"] for e in second["events"]] == ["a2"]


def _idle_cookie(team: Any) -> str:
    import time

    from payments.dashboard.sessions import SESSION_LAST_SEEN

    client = Client()
    sign_in(client, team.owner)
    session = client.session
    session[SESSION_LAST_SEEN] = time.time() - 31 * 60
    session.save()
    return client.cookies["sessionid"].value


async def test_a_socket_of_a_session_idle_past_the_timeout_is_refused() -> None:
    team = await sync_to_async(make_team)("Idle")
    s = socket(await sync_to_async(_idle_cookie)(team))
    connected, _ = await s.connect()
    assert not connected or (await s.receive_output())["type"] == "websocket.close"
