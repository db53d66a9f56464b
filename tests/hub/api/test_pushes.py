"""WebSocket pushes: per-user channel states on /ws/channel/ (after commit, with sequence
numbers) and the Connext-compatible rate broadcast on /api/hub/subscribe."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from eth_account import Account

from config.asgi import application
from hub.rates.models import RateSource
from hub.rates.services import rate_refresh
from tests.chain_env import ETH, ChainEnv
from tests.hub.api.user_sim import UserSim

pytestmark = [pytest.mark.django_db(transaction=True)]


def channel_socket(sim: UserSim) -> WebsocketCommunicator:
    query = urlencode({"address": sim.headers["x-address"], "nonce": sim.headers["x-nonce"],
                       "signature": sim.headers["x-signature"]})
    return WebsocketCommunicator(application, f"/ws/channel/?{query}")


async def test_channel_states_are_pushed_after_commit_with_sequence_numbers(hub_chain: ChainEnv) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    await sync_to_async(sim.login)()
    socket = channel_socket(sim)
    connected, _ = await socket.connect()
    assert connected
    assert json.loads(await socket.receive_from())["type"] == "hello"

    def request_deposit_inside_a_transaction() -> None:
        with transaction.atomic():
            response = sim.post(f"channel/{sim.address}/request-deposit", {
                "depositWei": str(ETH), "depositToken": "0",
                "sigUser": sim.signer.sign_deposit_request(0, ETH)})
            assert response.status_code == 200

    await sync_to_async(request_deposit_inside_a_transaction)()
    pushed = json.loads(await socket.receive_from(timeout=5))
    assert pushed["type"] == "channel_update"
    assert pushed["seq"] == 1
    assert pushed["update"]["reason"] == "ProposePendingDeposit"
    assert pushed["update"]["txCount"] == 1
    assert pushed["update"]["sigHub"].startswith("0x")
    await socket.disconnect()


async def test_a_rolled_back_change_is_never_pushed(hub_chain: ChainEnv) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    await sync_to_async(sim.login)()
    socket = channel_socket(sim)
    assert (await socket.connect())[0]
    await socket.receive_from()

    def request_then_roll_back() -> None:
        from hub.channels.proposals import channel_request_deposit

        class Abort(Exception):
            pass

        with pytest.raises(Abort), transaction.atomic():
            channel_request_deposit(user=sim.address, deposit_wei=str(ETH), deposit_token="0",
                                    sig_user=sim.signer.sign_deposit_request(0, ETH))
            raise Abort

    await sync_to_async(request_then_roll_back)()
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_a_socket_with_a_bad_signature_is_refused(hub_chain: ChainEnv) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    other = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    await sync_to_async(sim.login)()
    await sync_to_async(other.login)()
    sim.headers["x-signature"] = other.headers["x-signature"]
    connected, code = await channel_socket(sim).connect()
    assert not connected
    assert code == 4403


async def test_rate_refreshes_are_broadcast_to_subscribers(hub_chain: ChainEnv) -> None:
    socket = WebsocketCommunicator(application, "/api/hub/subscribe")
    assert (await socket.connect())[0]

    def refresh() -> None:
        RateSource.objects.update_or_create(pk=1, defaults={"kind": "operator", "operator_rate": "321.5"})
        rate_refresh()

    await sync_to_async(refresh)()
    message = json.loads(await socket.receive_from(timeout=5))
    assert message == {"type": "ExchangeRate", "data": "321.5"}
    await socket.disconnect()
