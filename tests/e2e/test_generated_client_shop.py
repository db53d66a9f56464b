"""A shop backend written against a client GENERATED from the OpenAPI document
(openapi-python-client, run offline on /api/v1/schema/): payout settings, a webhook endpoint,
an invoice the customer pays with the real Connext v1 client, the signed `invoice.paid` event
(parsed with the generated event model), a refund, and a settlement paid on-chain to the payout
address set through the API. Every response is parsed by the generated models, so a schema
that disagrees with the server fails here."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
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
from tests.payments.test_webhooks import Receiver, free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "client"))
from spoke_client import verify_webhook

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def generate_client(schema: dict[str, Any], where: Path) -> Any:
    """Generate the package `spoke_generated` from `schema` and import it."""
    (where / "schema.json").write_text(json.dumps(schema))
    (where / "config.yaml").write_text("post_hooks: []\n")  # no formatter needed to import it
    done = subprocess.run(
        [str(GENERATOR), "generate", "--path", str(where / "schema.json"), "--meta", "none",
         "--output-path", str(where / "spoke_generated"), "--config", str(where / "config.yaml")],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(where))
    return importlib.import_module("spoke_generated")


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    return response.parsed


def test_a_shop_runs_on_a_client_generated_from_the_openapi_document(
        hub_chain: ChainEnv, live_server: Any, chain_poller: None, settings: Any,  # noqa: F811
        tmp_path: Path) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS = True  # the shop's receiver is on loopback
    set_rate("200")
    import httpx

    schema = httpx.get(live_server.url + "/api/v1/schema/?format=json").json()
    spoke = generate_client(schema, tmp_path)
    api = importlib.import_module("spoke_generated.api")
    models = importlib.import_module("spoke_generated.models")
    for name in ("payout_settings", "webhook_endpoints", "invoices", "payments", "refunds", "settlements",
                 "events"):
        importlib.import_module(f"spoke_generated.api.{name}")
    ops = {name: importlib.import_module(f"spoke_generated.api.{group}.{name}") for group, name in [
        ("payout_settings", "payout_settings_update"), ("webhook_endpoints", "webhook_endpoints_create"),
        ("webhook_endpoints", "webhook_endpoints_send_test"), ("invoices", "invoices_create"),
        ("invoices", "invoices_retrieve"), ("payments", "payments_retrieve"), ("refunds", "refunds_create"),
        ("refunds", "refunds_retrieve"), ("settlements", "settlements_create"),
        ("settlements", "settlements_retrieve"), ("events", "events_list")]}
    del api

    shop_address = hub_chain.new_user(eth=0).address.lower()
    payout = hub_chain.new_user(eth=0).address
    merchant = merchant_create(name="Generated Shop", addresses=[shop_address])
    key = api_key_create(merchant_id=merchant.pk, kind="secret", name="backend").plaintext
    client = spoke.AuthenticatedClient(base_url=live_server.url, token=key, raise_on_unexpected_status=True)

    settings_out = ok(ops["payout_settings_update"].sync_detailed(
        client=client, body=models.PayoutSettingsUpdateRequest(payout_address=payout),
        idempotency_key="payout-1"))
    assert settings_out.payout_address == payout.lower()

    receiver = Receiver(free_port())
    receiver.start()
    try:
        endpoint = ok(ops["webhook_endpoints_create"].sync_detailed(client=client, body=models.WebhookEndpointCreateRequest(
            url=receiver.url, enabled_events=[models.EnabledEventsEnum("invoice.paid"),
                                             models.EnabledEventsEnum("refund.succeeded")]),
            idempotency_key="hook-1"), 201)
        test_delivery = ok(ops["webhook_endpoints_send_test"].sync_detailed(id=endpoint.id, client=client), 201)
        assert test_delivery.event_type == "webhook_endpoint.test"

        invoice = ok(ops["invoices_create"].sync_detailed(client=client, body=models.InvoiceCreateRequest.from_dict(
            {"amount": str(8 * TOKEN), "asset": "token", "description": "two coffees"}),
            idempotency_key="inv-1"), 201)
        assert invoice.checkout_url.startswith(live_server.url + "/pay/")  # absolute

        customer = hub_chain.new_user(eth=ETH, tokens=20 * TOKEN)
        driver = ConnextDriver(hub_url=live_server.url + "/api/hub", eth_url=hub_chain.rpc_url,
                               private_key="0x" + bytes(customer.key).hex(), timeout=120)
        driver.deposit(amount_token=20 * TOKEN)
        driver.buy([{"recipient": shop_address, "amountToken": str(8 * TOKEN), "type": "PT_CUSTODIAL",
                     "meta": {"invoiceId": invoice.id}}], meta={"orderId": "A-17"})

        paid_invoice = ok(ops["invoices_retrieve"].sync_detailed(id=invoice.id, client=client))
        assert str(paid_invoice.status) == "paid" and len(paid_invoice.payments) == 1
        payment = ok(ops["payments_retrieve"].sync_detailed(id=paid_invoice.payments[0], client=client))
        assert (payment.invoice, payment.amount_token) == (invoice.id, str(8 * TOKEN))

        for delivery in WebhookDelivery.objects.all():
            delivery_attempt(delivery_id=delivery.pk)
        headers, body = next((h, b) for h, b in receiver.received if b'"invoice.paid"' in b)
        verify_webhook(body, headers["Spoke-Signature"], [endpoint.secret])
        event = models.InvoiceEvent.from_dict(json.loads(body))  # the webhooks section's model
        assert event.data.object_.id == invoice.id and event.request.id is None

        refund = ok(ops["refunds_create"].sync_detailed(client=client, body=models.RefundCreateRequest(
            payment=payment.id, amount=str(4 * TOKEN)), idempotency_key="refund-1"), 201)
        assert str(refund.status) == "succeeded" and str(refund.method) == "channel"
        again = ok(ops["refunds_retrieve"].sync_detailed(id=refund.id, client=client))
        assert again.to_dict() == refund.to_dict()  # create and GET answer the same fields
        assert driver.state().channel["balanceTokenUser"] == str(20 * TOKEN - 8 * TOKEN + 4 * TOKEN)

        settlement = ok(ops["settlements_create"].sync_detailed(client=client, body=models.SettlementCreateRequest.from_dict(
            {"asset": "token"}), idempotency_key="settle-1"), 201)
        assert settlement.amount == str(4 * TOKEN) and settlement.payout_address == payout.lower()
        for tx in ChainTransaction.objects.exclude(state__in=["confirmed", "failed"]):
            submit_and_confirm(tx.pk)
        token = hub_chain.w3.eth.contract(address=Web3.to_checksum_address(hub_chain.deployment.token),
                                          abi=[{"name": "balanceOf", "type": "function", "stateMutability": "view",
                                                "inputs": [{"name": "a", "type": "address"}],
                                                "outputs": [{"name": "", "type": "uint256"}]}])
        assert token.functions.balanceOf(Web3.to_checksum_address(payout)).call() == 4 * TOKEN
        assert str(ok(ops["settlements_retrieve"].sync_detailed(id=settlement.id, client=client)).status) == "paid"
        types = [str(e.type_) for e in ok(ops["events_list"].sync_detailed(client=client)).data]
        assert {"payout_settings.updated", "invoice.paid", "payment.succeeded", "refund.succeeded",
                "settlement.created", "settlement.paid"} <= set(types)
    finally:
        receiver.stop()
