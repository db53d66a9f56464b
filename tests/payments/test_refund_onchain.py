"""Refunds of payments made on chain through the Checkout contract (PT_CHECKOUT: the hub holds
them in the merchant's custodial balance) go back on chain, on a real anvil, to the refund
destination the payment's intent named: the excess of an overpaid invoice in one call
(POST /invoices/{id}/refund_excess, the dashboard button) or a refund through POST /refunds. The
amount leaves the custodial balance when the payout is queued; the refund succeeds when the
transaction is confirmed, and a failed transaction returns the amount exactly once."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone
from eth_account import Account
from web3 import Web3

from hub.chain import outbox
from hub.chain.deploy import mint_tokens
from hub.chain.models import ChainTransaction
from hub.ledger.accounts import ONCHAIN_PAYOUTS
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from hub.purchases.models import Payment
from payments.invoices.services import invoice_apply_payment, invoice_create
from payments.mail.services import email_send, emails_unsent
from payments.refunds.execution import refund_execute, refund_on_chain_complete, refunds_sweep
from payments.refunds.models import Refund
from payments.refunds.services import refund_create
from tests.chain_env import ChainEnv, submit_and_confirm
from tests.dashboard.helpers import Team, make_payment, make_team, post_form, sign_in
from tests.payments.conftest import Shop
from tests.payments.test_settlements import token_balance

pytestmark = [pytest.mark.chain]


def checkout_payment(shop: Shop | Team, *, refund_to: str, wei: int = 0, token: int = 0,
                     invoice_id: str | None = None) -> Payment:
    """A payment made on chain through the checkout, as the hub holds it: a PT_CHECKOUT payment
    to the merchant's receiving address (in its custodial balance) naming the intent's refund
    destination, counted towards the invoice."""
    payment = make_payment(shop.address, wei=wei, token=token)
    meta = {"refundDestination": refund_to, "txHash": "0x" + "ab" * 32}
    if invoice_id:
        meta["invoiceId"] = invoice_id
    Payment.objects.filter(pk=payment.pk).update(type=Payment.Type.CHECKOUT, meta=meta)
    payment.refresh_from_db()
    if invoice_id:
        invoice_apply_payment(invoice_id=invoice_id, merchant_id=shop.merchant.pk, payment_id=payment.pk,
                              amount=wei or token, asset="wei" if wei else "token", paid_at=timezone.now())
    return payment


def run_outbox(refund_id: str) -> Refund:
    refund = Refund.objects.get(public_id=refund_id)
    assert refund.chain_transaction_id is not None
    submit_and_confirm(refund.chain_transaction_id)
    return Refund.objects.get(public_id=refund_id)


def test_the_excess_of_an_on_chain_payment_goes_back_on_chain_in_one_call(shop: Shop, hub_chain: ChainEnv) -> None:
    w3, api = hub_chain.w3, shop.client()
    invoice = api.post("/api/v1/invoices", {"amount": "1000000", "asset": "wei",
                                            "customer_email": "buyer@example.com"}).json()
    payer_wallet = Account.create().address  # the refund destination (checksummed, as the intent has it)
    checkout_payment(shop, refund_to=payer_wallet, wei=1_250_000, invoice_id=invoice["id"])
    assert api.get(f"/api/v1/invoices/{invoice['id']}").json()["amount_excess"] == "250000"
    payouts_before = account_balance(ONCHAIN_PAYOUTS, "wei")

    answer = api.post(f"/api/v1/invoices/{invoice['id']}/refund_excess")
    assert answer.status_code == 201, answer.content
    (created,) = answer.json()["refunds"]
    assert (created["amount"], created["recipient"], created["status"]) == ("250000", payer_wallet.lower(), "pending")
    assert refunds_sweep() == 1  # what the sweep after commit does: the payout is queued
    refund = Refund.objects.get(public_id=created["id"])
    assert refund.state == Refund.State.PENDING and refund.chain_transaction_id is not None
    assert account_balance(f"custodial:{shop.address}", "wei") == 1_000_000
    assert account_balance(ONCHAIN_PAYOUTS, "wei") - payouts_before == 250_000
    assert refunds_sweep() == 0  # on its way: never queued twice
    queued = ChainTransaction.objects.get(idempotency_key=f"refund:{refund.public_id}")  # exactly one
    assert (queued.purpose, queued.to, int(queued.value), queued.data, queued.on_complete) == (
        "refund", payer_wallet.lower(), 250_000, "0x", "payments.refunds.execution.refund_on_chain_complete")
    assert LedgerEntry.objects.filter(account=ONCHAIN_PAYOUTS, amount=250_000,
                                      memo=f"refund {refund.public_id} on chain").count() == 1
    shown = api.get(f"/api/v1/refunds/{refund.public_id}").json()
    assert shown["method"] == "onchain" and shown["transaction"]["state"] == "new"

    refund = run_outbox(refund.public_id)
    assert refund.state == Refund.State.SUCCEEDED
    assert w3.eth.get_balance(Web3.to_checksum_address(payer_wallet)) == 250_000  # exactly, to the destination
    shown = api.get(f"/api/v1/refunds/{refund.public_id}").json()
    assert shown["status"] == "succeeded" and shown["method"] == "onchain"
    assert shown["transaction"]["state"] == "confirmed" and shown["transaction"]["receipt_status"] == 1
    body = api.get(f"/api/v1/invoices/{invoice['id']}").json()
    assert body["amount_excess"] == "0"
    again = api.post(f"/api/v1/invoices/{invoice['id']}/refund_excess")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invoice_no_excess"
    types = [e["type"] for e in api.get("/api/v1/events").json()["data"]]
    assert types.index("refund.succeeded") < types.index("invoice.excess_refunded") < types.index("refund.created")
    for pk in emails_unsent():
        email_send(pk)
    assert any(m.to == ["buyer@example.com"] and "refunded" in m.body for m in mail.outbox)


def test_a_refund_of_an_on_chain_payment_through_the_api_and_a_failed_transaction(
        shop: Shop, hub_chain: ChainEnv) -> None:
    api = shop.client()
    payer_wallet = Account.create().address
    hub_tokens = token_balance(hub_chain.w3, hub_chain.hub.address)
    amount = hub_tokens + 10**18  # more than the hub holds on chain: the transfer reverts
    payment = checkout_payment(shop, refund_to=payer_wallet, token=amount)
    answer = api.post("/api/v1/refunds", {"payment": payment.public_id})
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["method"], body["status"], body["link"]) == ("onchain", "pending", None)
    assert account_balance(f"custodial:{shop.address}", "token") == 0
    refund = run_outbox(body["id"])
    failed_tx = ChainTransaction.objects.get(pk=refund.chain_transaction_id)
    assert refund.state == Refund.State.FAILED and refund.failure_reason == failed_tx.failure_reason != ""
    assert LedgerEntry.objects.filter(account=f"custodial:{shop.address}", asset="token", amount=amount,
                                      memo=f"refund {refund.public_id} failed on chain: returned").count() == 1
    assert account_balance(f"custodial:{shop.address}", "token") == amount  # returned
    refund_on_chain_complete(ChainTransaction.objects.get(pk=refund.chain_transaction_id))  # again: nothing
    outbox.transaction_check(tx_id=refund.chain_transaction_id)
    assert account_balance(f"custodial:{shop.address}", "token") == amount
    shown = api.get(f"/api/v1/refunds/{refund.public_id}").json()
    assert shown["status"] == "failed" and shown["transaction"]["state"] == "failed"

    # a token refund the hub can pay goes through
    mint_tokens(hub_chain.w3, hub_chain.hub, settings.TOKEN_ADDRESS, hub_chain.hub.address, 10**18)
    second = api.post("/api/v1/refunds", {"payment": payment.public_id, "amount": str(10**17)}).json()
    assert run_outbox(second["id"]).state == Refund.State.SUCCEEDED
    assert token_balance(hub_chain.w3, payer_wallet) == 10**17


def test_the_dashboard_button_refunds_an_on_chain_excess_on_chain(db: object, hub_chain: ChainEnv) -> None:
    team = make_team("Kiosk")
    invoice = invoice_create(merchant_id=team.merchant.pk, amount=10**6, asset="wei")
    payer_wallet = Account.create().address
    checkout_payment(team, refund_to=payer_wallet, wei=3 * 10**6, invoice_id=invoice.public_id)
    owner = Client()
    sign_in(owner, team.owner)
    path = f"/dashboard/invoices/{invoice.public_id}/"
    assert 'id="refund-excess-form"' in owner.get(path).content.decode()
    answer = post_form(owner, path, path + "refund-excess/", follow=True)
    assert answer.status_code == 200 and "on chain to its refund address" in answer.content.decode()
    (refund,) = Refund.objects.filter(invoice=invoice)
    assert (int(refund.amount), refund.recipient) == (2 * 10**6, payer_wallet.lower())
    outcome = refund_execute(refund_id=refund.public_id, allow_link=True)  # what the sweep after commit does
    assert (outcome.method, outcome.link) == ("onchain", None)  # queued on chain, never a link
    assert run_outbox(refund.public_id).state == Refund.State.SUCCEEDED
    assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(payer_wallet)) == 2 * 10**6
    assert refund.public_id in owner.get("/dashboard/refunds/").content.decode()


def test_an_invoice_paid_twice_through_the_checkout_refunds_its_excess_on_chain(
        shop: Shop, hub_chain: ChainEnv) -> None:
    """The whole path on anvil: two tabs fetch an intent for the remaining amount and both pay
    through the Checkout contract; the hub holds both, the invoice is overpaid, and one call gives
    the excess back on chain to the refund destination of the newest payment."""
    from hub.chain.ingest import events_poll
    from tests.payments.test_checkout_onchain import intent_for, submit

    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=10**15, asset="wei")
    payer = hub_chain.new_user(eth=10**18)
    first, second = intent_for(invoice, payer.address), intent_for(invoice, payer.address)
    assert first[0] == second[0] == 200
    submit(hub_chain, payer, first[1])
    submit(hub_chain, payer, second[1])
    for _ in range(3):
        hub_chain.mine()
    events_poll()
    invoice.refresh_from_db()
    assert (invoice.state, int(invoice.amount_received)) == ("overpaid", 2 * 10**15)
    before = hub_chain.w3.eth.get_balance(payer.address)

    api = shop.client()
    answer = api.post(f"/api/v1/invoices/{invoice.public_id}/refund_excess")
    assert answer.status_code == 201, answer.content
    (created,) = answer.json()["refunds"]
    assert (created["amount"], created["recipient"]) == (str(10**15), payer.address.lower())
    refunds_sweep()
    refund = run_outbox(created["id"])
    assert refund.state == Refund.State.SUCCEEDED
    assert hub_chain.w3.eth.get_balance(payer.address) - before == 10**15  # exactly the excess
    assert api.get(f"/api/v1/invoices/{invoice.public_id}").json()["amount_excess"] == "0"
    assert account_balance(f"custodial:{shop.address}", "wei") == 10**15  # the price stays


def test_a_token_refund_on_chain_without_a_configured_token_fails_and_moves_nothing(
        shop: Shop, settings: object) -> None:
    settings.TOKEN_ADDRESS = ""  # type: ignore[attr-defined]
    payment = checkout_payment(shop, refund_to=Account.create().address, token=500)
    payouts_before = account_balance(ONCHAIN_PAYOUTS, "token")
    refund = refund_create(merchant_id=shop.merchant.pk, payment_id=payment.pk, amount=200)
    assert refund_execute(refund_id=refund.public_id, allow_link=True).method == ""
    refund.refresh_from_db()
    assert (refund.state, refund.failure_reason, refund.chain_transaction_id) == (
        Refund.State.FAILED, "asset_not_configured", None)
    assert account_balance(f"custodial:{shop.address}", "token") == 500
    assert account_balance(ONCHAIN_PAYOUTS, "token") == payouts_before
    assert not ChainTransaction.objects.filter(idempotency_key=f"refund:{refund.public_id}").exists()
