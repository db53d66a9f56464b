"""The operator's kill switch reaches the Checkout contract: payments switched off in the admin
pause it on chain (through the transaction outbox, once however often the sync runs), so that a
wallet holding a signed intent cannot pay it; switched on, it is unpaused. /healthz reports the
contract, and a contract whose pause disagrees with the switch."""

from __future__ import annotations

import time
from typing import Any

import dramatiq
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from dramatiq import Message
from web3 import Web3
from web3.exceptions import ContractLogicError

from hub.chain.deploy import contract_at, deploy_checkout
from hub.chain.models import ChainTransaction
from hub.checkout.intents import intent_sign
from hub.checkout.pause import PAUSE, UNPAUSE, checkout_pause_sync
from ops.models import _SWITCH_CACHE, GlobalSwitches
from ops.services import heartbeat_record
from ops.tasks import WORKER_HEARTBEAT
from tests.chain_env import ETH, ChainEnv
from tests.hub.api.test_channel_flows import run_hub_transactions

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def run_queued_syncs() -> int:
    """Run the `checkout_pause_sync` messages the save queued (the stub broker of the tests)."""
    broker = dramatiq.get_broker()
    ran = 0
    for queue in list(broker.queues.values()):
        kept = []
        while not queue.empty():
            raw = queue.get_nowait()
            if Message.decode(raw).actor_name == "checkout_pause_sync":
                broker.get_actor("checkout_pause_sync").fn()
                ran += 1
            else:
                kept.append(raw)
        for raw in kept:
            queue.put(raw)
    return ran


def flip_payments(client: Client, *, on: bool) -> None:
    switches = GlobalSwitches.current()
    form = {"withdrawals_enabled": "on", **({"payments_enabled": "on"} if on else {})}
    try:
        response = client.post(reverse("admin:ops_globalswitches_change", args=[switches.pk]), form)
    finally:
        _SWITCH_CACHE.clear()
    assert response.status_code == 302, response.content


def health() -> tuple[int, dict[str, Any]]:
    heartbeat_record(name=WORKER_HEARTBEAT)
    response = Client().get("/healthz")
    return response.status_code, response.json()


def wallet_pays(env: ChainEnv, address: str) -> None:
    """A wallet submits an intent the hub signed (what the checkout page hands out)."""
    payer = env.new_user(eth=ETH)
    data = intent_sign(invoice_ref="inv_pause_test", recipient=payer.address, asset="wei",
                       amount=10**15, deadline=int(time.time()) + 3600, refund_destination=payer.address)
    env.w3.eth.call({"from": payer.address, "to": Web3.to_checksum_address(address),
                     "data": data["data"], "value": int(data["value"])})


def test_the_kill_switch_pauses_the_checkout_contract_and_unpauses_it(hub_chain: ChainEnv, settings: Any) -> None:
    checkout, _block = deploy_checkout(hub_chain.w3, hub_chain.hub, operator=hub_chain.hub.address)
    settings.CHECKOUT_ADDRESS = checkout.address  # a contract of its own: the session's stays unpaused
    contract = contract_at(hub_chain.w3, "Checkout", checkout.address)
    status, body = health()
    assert status == 200, body
    assert body["checkout"] == {"ok": True, "address": checkout.address, "deployed": True,
                                "operator_ok": True, "paused": False, "payments_enabled": True}
    wallet_pays(hub_chain, checkout.address)  # payable while payments are on

    operator = get_user_model().objects.create_superuser("op", "op@example.com", "pw-long-enough-1")
    client = Client()
    client.force_login(operator)
    flip_payments(client, on=False)
    status, body = health()  # switched off, the contract not paused yet: reported
    assert status == 503 and "checkout" in body["down"] and body["checkout"]["paused"] is False
    assert run_queued_syncs() == 1  # the save queued the sync once
    (pause,) = ChainTransaction.objects.filter(purpose=PAUSE)
    assert health()[0] == 200  # on its way: the open pause counts
    assert checkout_pause_sync() is None  # again: nothing more while the pause is on its way
    run_hub_transactions()
    assert contract.functions.paused().call() is True
    assert checkout_pause_sync() is None and ChainTransaction.objects.filter(purpose=PAUSE).count() == 1
    pause.refresh_from_db()
    assert pause.state == ChainTransaction.State.CONFIRMED
    with pytest.raises(ContractLogicError):
        wallet_pays(hub_chain, checkout.address)  # a signed intent cannot be paid now
    status, body = health()
    assert status == 200 and body["checkout"]["paused"] is True

    flip_payments(client, on=True)
    assert run_queued_syncs() == 1
    run_hub_transactions()
    assert contract.functions.paused().call() is False
    assert ChainTransaction.objects.filter(purpose=UNPAUSE, state=ChainTransaction.State.CONFIRMED).count() == 1
    wallet_pays(hub_chain, checkout.address)
    assert health()[0] == 200


def test_the_health_check_names_a_checkout_address_without_code(hub_chain: ChainEnv, settings: Any) -> None:
    settings.CHECKOUT_ADDRESS = hub_chain.new_user(eth=0).address
    status, body = health()
    assert status == 503 and body["down"] == ["checkout"]
    assert body["checkout"]["deployed"] is False
