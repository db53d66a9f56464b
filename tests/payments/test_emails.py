"""Email notices through Django's email framework (mail.outbox): the customer's receipt when the
invoice names an email, payment notices to the merchant's owners only (paid invoices, and
payments that count towards no invoice), refund notices (owners; the customer when the invoice
names an email), once each (outbox row + idempotent sender), and the public receipt page they
link to."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.core import mail
from django.db import transaction
from django.test import Client
from django.utils import timezone

from hub.purchases.listeners import payments_settled
from payments.invoices.models import Invoice
from payments.invoices.services import invoice_apply_payment
from payments.mail.models import OutgoingEmail
from payments.mail.services import email_send, emails_unsent
from payments.merchants.models import Membership
from payments.refunds.models import Refund
from payments.refunds.services import refund_create, refund_mark_failed, refund_mark_succeeded
from tests.dashboard.helpers import make_payment, set_rate
from tests.payments.conftest import Shop


def member(shop: Shop, email: str, role: str) -> None:
    user = get_user_model().objects.create_user(username=email, email=email, password="x" * 16)
    Membership.objects.create(user=user, merchant=shop.merchant, role=role)


def send_all() -> int:
    return sum(email_send(pk) for pk in emails_unsent())


def test_a_paid_invoice_mails_the_receipt_to_the_customer_and_a_notice_to_owners_once(shop: Shop) -> None:
    member(shop, "owner@shop.example", Membership.Role.OWNER)
    member(shop, "staff@shop.example", Membership.Role.STAFF)
    api = shop.client()
    invoice = api.post("/api/v1/invoices", {"amount": "1000", "asset": "wei", "order_id": "1042",
                                            "customer_email": "buyer@example.com"}).json()
    payment = make_payment(shop.address, wei=1000)
    invoice_apply_payment(invoice_id=invoice["id"], merchant_id=shop.merchant.pk, payment_id=payment.pk,
                          amount=1000, asset="wei", paid_at=timezone.now())
    assert send_all() == 2 and send_all() == 0  # each once
    by_to = {tuple(m.to): m for m in mail.outbox}
    assert set(by_to) == {("buyer@example.com",), ("owner@shop.example",)}  # not the staff member
    receipt_mail = by_to[("buyer@example.com",)]
    receipt_path = urlsplit(api.get(f"/api/v1/invoices/{invoice['id']}").json()["receipt_url"]).path
    assert receipt_path in receipt_mail.body and "1042" in receipt_mail.body
    assert OutgoingEmail.objects.filter(sent_at__isnull=False).count() == 2

    page = Client().get(receipt_path)
    assert page.status_code == 200 and invoice["id"] in page.content.decode()
    assert "buyer@example.com" not in page.content.decode()  # no private data beyond a receipt
    token = Invoice.objects.get(public_id=invoice["id"]).receipt_token
    forged = token[:-1] + ("x" if token[-1] != "x" else "y")  # always a different token
    assert Client().get(f"/receipts/{invoice['id']}/{forged}").status_code == 404


def test_a_payment_without_an_invoice_mails_the_owners_once(shop: Shop) -> None:
    member(shop, "owner@shop.example", Membership.Role.OWNER)
    member(shop, "staff@shop.example", Membership.Role.STAFF)
    set_rate("2000", timezone.now() - timedelta(minutes=1))
    loose = make_payment(shop.address, wei=10**16)
    invoice = shop.client().post("/api/v1/invoices", {"amount": "1000", "asset": "wei"}).json()
    for_invoice = make_payment(shop.address, wei=1000, meta={"invoiceId": invoice["id"]})
    with transaction.atomic():  # what the purchase does once its payments completed
        payments_settled([loose, for_invoice])
    with transaction.atomic():
        payments_settled([loose])  # heard twice: still one mail
    assert send_all() == 2 and send_all() == 0
    subjects = sorted(m.subject for m in mail.outbox)
    assert subjects == sorted([f"Alice's shop: payment {loose.public_id} received",
                               f"Alice's shop: invoice {invoice['id']} was paid"])
    notice = next(m for m in mail.outbox if loose.public_id in m.subject)
    assert notice.to == ["owner@shop.example"]  # owners only
    assert "0.01 ETH" in notice.body and "(20.00 USD)" in notice.body and loose.sender in notice.body
    assert not any(for_invoice.public_id in m.subject for m in mail.outbox)  # the invoice's notice says it


def test_a_refund_mails_the_customer_and_the_owners_and_a_failed_one_the_owners_only(shop: Shop) -> None:
    member(shop, "owner@shop.example", Membership.Role.OWNER)
    api = shop.client()
    invoice = api.post("/api/v1/invoices", {"amount": "1000", "asset": "wei", "order_id": "77",
                                            "customer_email": "buyer@example.com"}).json()
    paid = make_payment(shop.address, wei=1500)
    invoice_apply_payment(invoice_id=invoice["id"], merchant_id=shop.merchant.pk, payment_id=paid.pk,
                          amount=1500, asset="wei", paid_at=timezone.now())
    send_all()
    mail.outbox.clear()

    excess = api.post(f"/api/v1/invoices/{invoice['id']}/refund_excess").json()["refunds"][0]
    assert send_all() == 0  # requested is not refunded yet
    refund_mark_succeeded(refund_id=excess["id"])
    refund_mark_succeeded(refund_id=excess["id"])  # idempotent: no second mail
    assert send_all() == 2 and send_all() == 0
    by_to = {tuple(m.to): m for m in mail.outbox}
    assert set(by_to) == {("buyer@example.com",), ("owner@shop.example",)}
    customer = by_to[("buyer@example.com",)]
    assert customer.subject == "A refund from Alice's shop"
    assert "0.0000000000000005 ETH" in customer.body and invoice["id"] in customer.body and "Order: 77" in customer.body
    assert "succeeded" in by_to[("owner@shop.example",)].subject

    # a refund of the same invoice's payment (not through refund_excess) finds the customer too
    mail.outbox.clear()
    more = refund_create(merchant_id=shop.merchant.pk, payment_id=paid.pk, amount=100)
    refund_mark_succeeded(refund_id=more.public_id)
    assert send_all() == 2 and {tuple(m.to) for m in mail.outbox} == {("buyer@example.com",),
                                                                       ("owner@shop.example",)}

    # no invoice, no customer email: the owners hear of it, here of a failure
    mail.outbox.clear()
    loose = make_payment(shop.address, wei=700)
    failed = refund_create(merchant_id=shop.merchant.pk, payment_id=loose.pk)
    refund_mark_failed(refund_id=failed.public_id, reason="payer_unreachable")
    assert send_all() == 1
    (owner_mail,) = mail.outbox
    assert owner_mail.to == ["owner@shop.example"] and "failed" in owner_mail.subject
    assert "payer_unreachable" in owner_mail.body and "stays in your balance" in owner_mail.body
    assert Refund.objects.get(public_id=failed.public_id).state == Refund.State.FAILED
