"""Invoices paid on-chain through the Checkout contract: the checkout page's intent API signs the
exact remaining amount to the hub, which holds it for the merchant; the payer's transaction is
ingested only after the configured confirmations, and then, once however often ingested, the
invoice is paid, the merchant's custodial balance is credited (a PT_CHECKOUT payment, in the
ledger like any other receipt: settlements pay it out) and `payment.succeeded` is recorded."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from hub.chain.deploy import contract_at, mint_tokens, send_transaction
from hub.chain.ingest import events_poll
from hub.chain.signer import hub_address
from hub.channels.reconciliation import reconcile_channels
from hub.checkout.intents import intent_sign
from hub.checkout.models import CheckoutPayment
from hub.ledger.accounts import CHECKOUT_RECEIPTS
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from hub.purchases.models import Payment
from payments.balances.selectors import merchant_balance
from payments.events.models import Event
from payments.invoices.models import Invoice, InvoicePayment
from payments.invoices.services import invoice_apply_payment, invoice_create
from payments.merchants.services import merchant_create
from payments.received.models import ReceivedPayment
from payments.settlements.services import settlement_execute
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


def ledger_conserved() -> bool:
    """Every asset's postings sum to zero over the whole ledger."""
    from django.db.models import Sum

    return all(int(row["total"]) == 0 for row in
               LedgerEntry.objects.values("asset").annotate(total=Sum("amount")))


def test_eth_invoice_paid_after_confirmations(hub_chain: ChainEnv, settings: Any) -> None:
    settings.CONFIRMATIONS = 2
    shop_address = Account.create().address.lower()
    payout = Account.create().address
    merchant = merchant_create(name="Corner shop", addresses=[shop_address], payout_address=payout)
    invoice = invoice_create(merchant_id=merchant.pk, amount=ETH // 50, asset="wei")
    payer = hub_chain.new_user(eth=ETH)
    hub = Web3.to_checksum_address(hub_address())
    receipts_before = account_balance(CHECKOUT_RECEIPTS, "wei")

    status, data = intent_for(invoice, payer.address)
    assert status == 200, data
    assert data["method"] == "payNative" and data["value"] == str(ETH // 50)
    assert data["intent"]["recipient"] == hub  # the hub holds it for the merchant
    assert int(data["intent"]["deadline"]) <= int(invoice.expires_at.timestamp())
    assert data["intent"]["refund_destination"] == payer.address
    hub_before = hub_chain.w3.eth.get_balance(hub)
    submit(hub_chain, payer, data)
    assert hub_chain.w3.eth.get_balance(hub) - hub_before == ETH // 50
    assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(shop_address)) == 0

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
    # held for the merchant like a channel payment to its receiving address
    held = Payment.objects.get(type="PT_CHECKOUT", meta__checkoutPaymentId=record.pk)
    assert (held.sender, held.recipient, held.amount_wei, held.status) == (
        payer.address.lower(), shop_address, ETH // 50, "completed")
    assert held.meta["invoiceId"] == invoice.public_id and held.meta["txHash"] == record.tx_hash
    (credit,) = InvoicePayment.objects.filter(invoice=invoice)
    assert (credit.source, credit.payment_id, credit.amount) == ("hub", held.pk, ETH // 50)
    assert merchant_balance(merchant.pk)["custodial"]["wei"] == ETH // 50
    assert ReceivedPayment.objects.filter(payment_id=held.pk, amount=ETH // 50).exists()  # its fiat value
    assert account_balance(CHECKOUT_RECEIPTS, "wei") - receipts_before == -ETH // 50
    assert ledger_conserved() and reconcile_channels().ok
    assert Event.objects.filter(merchant=merchant, type="invoice.paid").count() == 1
    (succeeded,) = Event.objects.filter(merchant=merchant, type="payment.succeeded")
    shown = succeeded.data["object"]
    assert (shown["id"], shown["type"], shown["invoice"], shown["amount_wei"], shown["purchase"]) == (
        held.public_id, "PT_CHECKOUT", invoice.public_id, str(ETH // 50), held.purchase_id)
    receipt = Client().get(urlsplit(shown["receipt_url"]).path)  # no signed channel state to show
    assert receipt.status_code == 200 and "Corner shop" in receipt.content.decode()
    # the merchant's payment list shows it, and a settlement pays the balance out
    merchant_settles = settlement_execute(merchant_id=merchant.pk, asset="wei")
    assert int(merchant_settles.amount) == ETH // 50
    assert merchant_balance(merchant.pk)["custodial"]["wei"] == 0 and ledger_conserved()

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
    token = contract_at(hub_chain.w3, "SpokeTestToken", hub_chain.deployment.token)
    hub = Web3.to_checksum_address(hub_address())
    hub_before = token.functions.balanceOf(hub).call()
    submit(hub_chain, payer, data)
    events_poll()
    invoice.refresh_from_db()
    assert (invoice.state, invoice.amount_received) == (Invoice.State.PAID, 5 * TOKEN)
    assert token.functions.balanceOf(hub).call() - hub_before == 3 * TOKEN
    assert token.functions.balanceOf(Web3.to_checksum_address(shop_address)).call() == 0
    held = Payment.objects.get(type="PT_CHECKOUT", recipient=shop_address)
    assert (held.amount_token, held.amount_wei) == (3 * TOKEN, 0)
    assert merchant_balance(merchant.pk)["custodial"]["token"] == 3 * TOKEN
    assert Event.objects.filter(merchant=merchant, type="payment.succeeded").count() == 1
    assert ledger_conserved()


def test_an_intent_made_out_to_the_merchant_before_custody_still_counts(hub_chain: ChainEnv) -> None:
    """Intents signed before the hub held checkout payments paid the merchant's address directly:
    the invoice is credited, nothing is held (the merchant has the money already)."""
    shop_address = Account.create().address.lower()
    merchant = merchant_create(name="Old intent shop", addresses=[shop_address])
    invoice = invoice_create(merchant_id=merchant.pk, amount=ETH // 100, asset="wei")
    payer = hub_chain.new_user(eth=ETH)
    data = intent_sign(invoice_ref=invoice.public_id, recipient=shop_address, asset="wei",
                       amount=ETH // 100, deadline=int(invoice.expires_at.timestamp()),
                       refund_destination=payer.address)
    submit(hub_chain, payer, data)
    events_poll()
    invoice.refresh_from_db()
    assert invoice.state == Invoice.State.PAID
    assert InvoicePayment.objects.get(invoice=invoice).source == "checkout"
    assert not Payment.objects.filter(type="PT_CHECKOUT", recipient=shop_address).exists()
    assert merchant_balance(merchant.pk)["custodial"]["wei"] == 0


def test_intent_api_refusals(hub_chain: ChainEnv) -> None:
    merchant = merchant_create(name="Shop", addresses=[Account.create().address.lower()])
    invoice = invoice_create(merchant_id=merchant.pk, amount=1000, asset="wei")
    assert Client().get("/pay/inv_doesnotexist/intent.json", {"payer": "0x" + "11" * 20}).status_code == 404
    status, data = intent_for(invoice, "")
    assert (status, data["error"]["code"]) == (400, "parameter_missing")
    status, data = intent_for(invoice, "0x1234")
    assert (status, data["error"]["code"]) == (400, "address_invalid")
