"""Email notices through Django's email framework (mail.outbox): the customer's receipt when the
invoice names an email, payment notices to the merchant's owners only, once each (outbox row +
idempotent sender), and the public receipt page they link to."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from payments.invoices.models import Invoice
from payments.invoices.services import invoice_apply_payment
from payments.mail.models import OutgoingEmail
from payments.mail.services import email_send, emails_unsent
from payments.merchants.models import Membership
from tests.dashboard.helpers import make_payment
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
    assert Client().get(f"/receipts/{invoice['id']}/{token[:-1]}x").status_code == 404
