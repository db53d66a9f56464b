"""Invoices are credited only by value that reached the invoice's own merchant (issue 14): real
purchases through the hub, custodial payments to two merchants' receiving addresses."""

from __future__ import annotations

import pytest
from eth_account import Account

from hub.custodial.services import custodial_balance
from hub.purchases.models import Payment
from payments.events.models import Event
from payments.invoices.models import Invoice, InvoicePayment
from payments.invoices.services import invoice_create
from payments.merchants.models import Merchant
from payments.merchants.services import merchant_create
from tests.chain_env import TOKEN, ChainEnv
from tests.hub.api.user_sim import UserSim
from tests.purchases.helpers import funded_user, pay_request

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def new_merchant(name: str) -> tuple[Merchant, str]:
    address = Account.create().address.lower()
    return merchant_create(name=name, addresses=[address]), address


def pay(payer: UserSim, recipient: str, tokens: int, meta: dict[str, str]) -> None:
    response = payer.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(payer, recipient, token=tokens, ptype="PT_CUSTODIAL", meta=meta)]})
    assert response.status_code == 200, response.content


def event_types(merchant: Merchant) -> list[str]:
    return list(Event.objects.filter(merchant=merchant).order_by("id").values_list("type", flat=True))


def test_a_payment_to_another_merchant_naming_my_invoice_leaves_it_unpaid(hub_chain: ChainEnv) -> None:
    alice, alice_address = new_merchant("Alice's shop")
    mallory, mallory_address = new_merchant("Mallory's shop")
    invoice = invoice_create(merchant_id=alice.pk, amount=3 * TOKEN, asset="token")
    payer = funded_user(hub_chain, tokens=10 * TOKEN)

    pay(payer, mallory_address, 3 * TOKEN, {"invoiceId": invoice.public_id})

    invoice.refresh_from_db()
    assert (invoice.state, invoice.amount_received, invoice.paid_at) == (Invoice.State.OPEN, 0, None)
    assert not InvoicePayment.objects.filter(invoice=invoice).exists()
    assert event_types(alice) == ["invoice.created"]
    # it stays an ordinary payment to Mallory, in Mallory's balance
    payment = Payment.objects.get()
    assert (payment.recipient, payment.status) == (mallory_address, Payment.Status.COMPLETED)
    assert event_types(mallory) == ["payment.succeeded"]
    assert custodial_balance(mallory_address)["balanceToken"] == str(3 * TOKEN)
    assert custodial_balance(alice_address)["balanceToken"] == "0"


def test_a_payment_to_the_invoice_merchant_pays_it_and_a_later_foreign_one_adds_nothing(
    hub_chain: ChainEnv,
) -> None:
    alice, alice_address = new_merchant("Alice's shop")
    _, mallory_address = new_merchant("Mallory's shop")
    invoice = invoice_create(merchant_id=alice.pk, amount=2 * TOKEN, asset="token")
    payer = funded_user(hub_chain, tokens=10 * TOKEN)

    pay(payer, alice_address, TOKEN, {"invoiceId": invoice.public_id})
    pay(payer, mallory_address, TOKEN, {"invoice_id": invoice.public_id})
    invoice.refresh_from_db()
    assert (invoice.state, invoice.amount_received) == (Invoice.State.PARTIALLY_PAID, TOKEN)

    pay(payer, alice_address, TOKEN, {"invoiceId": invoice.public_id})
    invoice.refresh_from_db()
    assert (invoice.state, invoice.amount_received) == (Invoice.State.PAID, 2 * TOKEN)
    counted = InvoicePayment.objects.filter(invoice=invoice).values_list("payment_id", flat=True)
    assert list(Payment.objects.filter(pk__in=counted).values_list("recipient", flat=True)) \
        == [alice_address, alice_address]
    assert event_types(alice).count("invoice.paid") == 1
