"""Invoices paid on-chain through the Checkout contract: the checkout page's intent API signs the
exact remaining amount to the merchant's address; the payer's transaction is ingested only after
the configured confirmations, and then the invoice is paid (once, however often ingested)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from hub.chain.deploy import contract_at, mint_tokens, send_transaction
from hub.chain.ingest import events_poll
from hub.checkout.models import CheckoutPayment
from payments.events.models import Event
from payments.invoices.models import Invoice, InvoicePayment
from payments.invoices.services import invoice_apply_payment, invoice_create
from payments.merchants.services import merchant_create
from tests.chain_env import ETH, TOKEN, ChainEnv

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def intent_for(invoice: Invoice, payer: str) -> tuple[int, dict[str, Any]]:
    response = Client().get(f"/pay/{invoice.public_id}/intent.json", {"payer": payer})
    return response.status_code, response.json()


def submit(env: ChainEnv, payer: LocalAccount, data: dict[str, Any]) -> None:
    checkout = contract_at(env.w3, "Checkout", data["contract"])
    i = data["intent"]
    intent = (bytes.fromhex(i["invoice"][2:]), int(i["nonce"]), i["recipient"], i["asset"],
              int(i["amount"]), int(i["deadline"]), i["refund_destination"])
    fn = getattr(checkout.functions, data["method"])(intent, bytes.fromhex(data["signature"][2:]))
    if data["method"] == "payToken":
        token = contract_at(env.w3, "SpokeTestToken", i["asset"])
        send_transaction(env.w3, payer, token.functions.approve(checkout.address, int(i["amount"]))
                         .build_transaction({"from": payer.address}))
    send_transaction(env.w3, payer, fn.build_transaction({"from": payer.address, "value": int(data["value"])}))


def test_eth_invoice_paid_after_confirmations(hub_chain: ChainEnv, settings: Any) -> None:
    settings.CONFIRMATIONS = 2
    shop_address = Account.create().address.lower()
    merchant = merchant_create(name="Corner shop", addresses=[shop_address])
    invoice = invoice_create(merchant_id=merchant.pk, amount=ETH // 50, asset="wei")
    payer = hub_chain.new_user(eth=ETH)

    status, data = intent_for(invoice, payer.address)
    assert status == 200, data
    assert data["method"] == "payNative" and data["value"] == str(ETH // 50)
    assert data["intent"]["recipient"].lower() == shop_address
    assert int(data["intent"]["deadline"]) <= int(invoice.expires_at.timestamp())
    assert data["intent"]["refund_destination"] == payer.address
    submit(hub_chain, payer, data)
    assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(shop_address)) == ETH // 50

    events_poll()  # not yet confirmed
    invoice.refresh_from_db()
    # (the session's chain also carries other tests' checkout payments: look at this invoice's)
    mine = CheckoutPayment.objects.filter(invoice_ref=invoice.public_id)
    assert invoice.state == Invoice.State.OPEN and not mine.exists()

    hub_chain.mine()
    hub_chain.mine()
    events_poll()
    events_poll()  # ingesting again changes nothing
    invoice.refresh_from_db()
    assert (invoice.state, invoice.amount_received) == (Invoice.State.PAID, ETH // 50)
    record = mine.get()
    assert (record.invoice_ref, record.payer, record.asset) == (invoice.public_id, payer.address.lower(), "wei")
    (credit,) = InvoicePayment.objects.filter(invoice=invoice)
    assert (credit.source, credit.payment_id, credit.amount) == ("checkout", record.pk, ETH // 50)
    assert Event.objects.filter(merchant=merchant, type="invoice.paid").count() == 1

    # a paid invoice gets no intent
    status, data = intent_for(invoice, payer.address)
    assert (status, data["error"]["code"]) == (409, "invoice_not_payable")


def test_token_intent_asks_exactly_the_remaining_amount(hub_chain: ChainEnv, settings: Any) -> None:
    shop_address = Account.create().address.lower()
    merchant = merchant_create(name="Token shop", addresses=[shop_address])
    invoice = invoice_create(merchant_id=merchant.pk, amount=5 * TOKEN, asset="token")
    invoice_apply_payment(invoice_id=invoice.public_id, merchant_id=merchant.pk, payment_id=987654321,
                          amount=2 * TOKEN, asset="token", paid_at=invoice.created_at)
    payer = hub_chain.new_user(eth=ETH)
    mint_tokens(hub_chain.w3, hub_chain.hub, hub_chain.deployment.token, payer.address, 10 * TOKEN)

    status, data = intent_for(invoice, payer.address)
    assert status == 200, data
    assert (data["method"], data["value"], data["intent"]["amount"]) == ("payToken", "0", str(3 * TOKEN))
    submit(hub_chain, payer, data)
    events_poll()
    invoice.refresh_from_db()
    assert (invoice.state, invoice.amount_received) == (Invoice.State.PAID, 5 * TOKEN)
    token = contract_at(hub_chain.w3, "SpokeTestToken", hub_chain.deployment.token)
    assert token.functions.balanceOf(Web3.to_checksum_address(shop_address)).call() == 3 * TOKEN


def test_intent_api_refusals(hub_chain: ChainEnv) -> None:
    merchant = merchant_create(name="Shop", addresses=[Account.create().address.lower()])
    invoice = invoice_create(merchant_id=merchant.pk, amount=1000, asset="wei")
    assert Client().get("/pay/inv_doesnotexist/intent.json", {"payer": "0x" + "11" * 20}).status_code == 404
    status, data = intent_for(invoice, "")
    assert (status, data["error"]["code"]) == (400, "parameter_missing")
    status, data = intent_for(invoice, "0x1234")
    assert (status, data["error"]["code"]) == (400, "address_invalid")
