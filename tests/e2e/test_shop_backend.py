"""A shop backend end to end, through the public merchant API with an API key only: an invoice;
a customer pays it with the real Connext v1 client (`buy` with the invoice id in meta); a webhook
receiver on loopback gets `invoice.paid` with a valid signature; the shop refunds half and the
customer's channel shows it after sync; the shop settles on-chain and the payout address's
balance grows by the settled amount."""

from __future__ import annotations

import json
from typing import Any

import pytest
from spoke_client import verify_webhook
from web3 import Web3

from hub.chain.models import ChainTransaction
from payments.apikeys.services import api_key_create
from payments.merchants.services import merchant_create
from payments.webhooks.models import WebhookDelivery
from payments.webhooks.services import delivery_attempt
from tests.chain_env import ETH, TOKEN, ChainEnv, submit_and_confirm
from tests.e2e.connext.harness import ConnextDriver
from tests.e2e.test_connext_client_flows import chain_poller  # noqa: F401 - fixture
from tests.hub.api.test_channel_flows import set_rate
from tests.payments.conftest import Api
from tests.payments.test_webhooks import Receiver, free_port

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_a_shop_backend_invoices_gets_paid_refunds_and_settles(
        hub_chain: ChainEnv, live_server: Any, chain_poller: None, settings: Any) -> None:  # noqa: F811
    settings.WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS = True  # the shop's receiver is on loopback
    set_rate("200")
    shop_address = hub_chain.new_user(eth=0).address.lower()
    payout = hub_chain.new_user(eth=0).address
    merchant = merchant_create(name="Corner Shop", addresses=[shop_address], payout_address=payout)
    api = Api(api_key_create(merchant_id=merchant.pk, kind="secret", name="backend").plaintext)
    receiver = Receiver(free_port())
    receiver.start()
    try:
        response = api.post("/api/v1/webhook_endpoints", {"url": receiver.url,
                                                          "enabled_events": ["invoice.paid", "refund.succeeded"]},
                            idempotency_key="hook-1")
        assert response.status_code == 201, response.content
        secret = response.json()["secret"]
        response = api.post("/api/v1/invoices", {"amount": str(8 * TOKEN), "asset": "token",
                                                 "description": "two coffees", "order_id": "A-17"},
                            idempotency_key="inv-1")
        assert response.status_code == 201, response.content
        invoice = response.json()
        assert invoice["status"] == "open"

        customer = hub_chain.new_user(eth=ETH, tokens=20 * TOKEN)
        driver = ConnextDriver(hub_url=live_server.url + "/api/hub", eth_url=hub_chain.rpc_url,
                               private_key="0x" + bytes(customer.key).hex(), timeout=120)
        driver.deposit(amount_token=20 * TOKEN)
        driver.buy([{"recipient": shop_address, "amountToken": str(8 * TOKEN), "type": "PT_CUSTODIAL",
                     "meta": {"invoiceId": invoice["id"]}}], meta={"orderId": "A-17"})

        assert api.get(f"/api/v1/invoices/{invoice['id']}").json()["status"] == "paid"
        for delivery in WebhookDelivery.objects.all():
            delivery_attempt(delivery_id=delivery.pk)
        paid = [json.loads(body) for headers, body in receiver.received
                if json.loads(body)["type"] == "invoice.paid"]
        assert len(paid) == 1 and paid[0]["data"]["object"]["id"] == invoice["id"]
        headers, body = next((h, b) for h, b in receiver.received if b"invoice.paid" in b)
        verify_webhook(body, headers["Spoke-Signature"], [secret])

        payment_id = api.get("/api/v1/payments").json()["data"][0]["id"]
        response = api.post("/api/v1/refunds", {"payment": payment_id, "amount": str(4 * TOKEN)},
                            idempotency_key="refund-1")
        assert response.status_code == 201, response.content
        assert response.json()["status" if "status" in response.json() else "state"] in ("succeeded",)
        assert response.json()["method"] == "channel"
        assert driver.state().channel["balanceTokenUser"] == str(20 * TOKEN - 8 * TOKEN + 4 * TOKEN)

        response = api.post("/api/v1/settlements", {"asset": "token"}, idempotency_key="settle-1")
        assert response.status_code == 201, response.content
        settlement = response.json()
        assert settlement["amount"] == str(4 * TOKEN)
        for tx in ChainTransaction.objects.exclude(state__in=["confirmed", "failed"]):
            submit_and_confirm(tx.pk)
        token = hub_chain.w3.eth.contract(address=Web3.to_checksum_address(hub_chain.deployment.token),
                                          abi=[{"name": "balanceOf", "type": "function", "stateMutability": "view",
                                                "inputs": [{"name": "a", "type": "address"}],
                                                "outputs": [{"name": "", "type": "uint256"}]}])
        assert token.functions.balanceOf(Web3.to_checksum_address(payout)).call() == 4 * TOKEN
        assert api.get(f"/api/v1/settlements/{settlement['id']}").json()["status"] == "paid"
    finally:
        receiver.stop()
