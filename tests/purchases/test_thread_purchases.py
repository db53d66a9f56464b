"""PT_THREAD purchases (pay_thread): the payment is recorded with its parties, its amounts, the
purchase's and its own meta and the thread's OpenThread as the payer's update, and the thread
state must move exactly its amount, in wei as in tokens, on top of what the receiver already
has in the thread."""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from hub.core import thread_payment
from hub.purchases.models import Payment
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.threads.helpers import switch_threads, thread_user
from tests.purchases.helpers import collateralize, pay_request

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_a_thread_payment_moves_exactly_its_amount_and_is_recorded_with_its_parties(
        hub_chain: ChainEnv) -> None:
    switch_threads(True)
    alice = thread_user(hub_chain, wei=ETH // 10, tokens=2 * TOKEN)
    bob = thread_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, bob.sim)
    bob.sync(hub_chain)
    # the hub's wei in bob's channel, for a thread carrying wei: bob pays the hub some
    assert bob.sim.post("payments/purchase", {"meta": {}, "payments": [pay_request(
        bob.sim, "0x" + secrets.token_hex(20), wei=ETH // 100, ptype="PT_CUSTODIAL")]}
    ).status_code == 200
    assert alice.open_thread(bob.address, wei=ETH // 100, token=TOKEN).status_code == 200
    key = (alice.address, bob.address, 1)

    def purchase(wei: int, token: int, *, moves: tuple[int, int] | None = None) -> Any:
        state = alice.sim.signer.sign_thread_state(
            thread_payment(alice.threads[key], *(moves or (wei, token))))
        response = alice.sim.post("payments/purchase", {"meta": {"orderId": "t-1"}, "payments": [{
            "recipient": bob.address, "type": "PT_THREAD", "meta": {"sku": "s"},
            "amount": {"amountWei": str(wei), "amountToken": str(token)},
            "update": {"state": state.to_json()}}]})
        if response.status_code == 200:
            alice.threads[key] = state
        return response

    assert purchase(5, 7).status_code == 200
    assert purchase(3, 0).status_code == 200  # on top of the 5 wei bob has in the thread
    assert purchase(0, 2).status_code == 200
    refused = purchase(2, 0, moves=(1, 0))
    assert refused.status_code == 400
    assert (refused.json()["code"], refused.json()["message"]) == (
        "bad_args", "the thread state must move exactly the payment's amount")
    payments = list(Payment.objects.filter(type="PT_THREAD").order_by("id"))
    assert [(p.sender, p.recipient, p.amount_wei, p.amount_token, p.meta, p.status)
            for p in payments] == [
        (alice.address, bob.address, wei, token, {"orderId": "t-1", "sku": "s"}, "completed")
        for wei, token in ((5, 7), (3, 0), (0, 2))]
    assert all(p.completed_at is not None and p.payer_update.reason == "OpenThread"
               for p in payments)
    # a thread payment and a channel payment in one purchase: both are made
    shop = "0x" + secrets.token_hex(20)
    state = alice.sim.signer.sign_thread_state(thread_payment(alice.threads[key], 1, 0))
    response = alice.sim.post("payments/purchase", {"meta": {}, "payments": [
        {"recipient": bob.address, "type": "PT_THREAD", "meta": {},
         "amount": {"amountWei": "1", "amountToken": "0"}, "update": {"state": state.to_json()}},
        pay_request(alice.sim, shop, token=TOKEN // 10, ptype="PT_CUSTODIAL")]})
    assert response.status_code == 200, response.content
    assert sorted((p.type, p.recipient, p.amount_wei, p.amount_token) for p in Payment.objects.filter(
        purchase_id=response.json()["purchaseId"])) == [
        ("PT_CUSTODIAL", shop, 0, TOKEN // 10), ("PT_THREAD", bob.address, 1, 0)]
