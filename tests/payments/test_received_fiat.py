"""Hub payments a merchant receives record their fiat value at the time they are paid, invoice or
not (payments.received), through the real "payments settled" listener; the API and the
payment.succeeded event read the recorded value (the settlement report too:
tests/dashboard/test_settlement_report.py)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from django.db import transaction
from django.test import Client
from django.utils import timezone

from hub.purchases.listeners import payments_settled
from payments.events.models import Event
from payments.received.models import ReceivedPayment
from tests.dashboard.helpers import make_payment, set_rate
from tests.payments.conftest import Shop


def settle(payment: object) -> None:
    """What the purchase code does once a payment completed: tell the listeners, in its transaction."""
    with transaction.atomic():
        payments_settled([payment])  # type: ignore[list-item]


def test_a_payment_without_an_invoice_records_its_fiat_value_then(shop: Shop) -> None:
    set_rate("2000", timezone.now() - timedelta(minutes=10))
    payment = make_payment(shop.address, wei=10**16)  # 0.01 ETH, no invoice
    settle(payment)
    settle(payment)  # the listener may hear it twice: one row
    row = ReceivedPayment.objects.get(payment_id=payment.pk)
    assert (row.merchant_id, row.asset, int(row.amount)) == (shop.merchant.pk, "wei", 10**16)
    assert (row.fiat_currency, row.fiat_value, row.fiat_rate_source) == ("USD", Decimal("20.00"), "hub:operator")
    assert ReceivedPayment.objects.count() == 1

    body = shop.client().get(f"/api/v1/payments/{payment.public_id}").json()
    assert body["invoice"] is None
    assert (body["fiat_currency"], body["fiat_value"], body["fiat_rate"]) == ("USD", "20.00", "2000.000000000000000000")
    assert body["fiat_rate_source"] == "hub:operator" and isinstance(body["fiat_rate_at"], int)
    event = Event.objects.get(merchant=shop.merchant, type="payment.succeeded")
    assert event.data["object"]["fiat_value"] == "20.00"  # the event shows the same payment


def test_a_payment_with_no_record_reads_as_empty_fiat_fields(shop: Shop) -> None:
    payment = make_payment(shop.address, wei=5)  # recorded before values were kept: no listener ran
    body = shop.client().get(f"/api/v1/payments/{payment.public_id}").json()
    assert (body["fiat_currency"], body["fiat_value"], body["fiat_rate"], body["fiat_rate_at"]) == ("", None, None, None)
    assert body["receipt_url"] is None


def test_a_payment_has_a_public_receipt_page(shop: Shop) -> None:
    set_rate("2000", timezone.now() - timedelta(minutes=10))
    payment = make_payment(shop.address, wei=10**16, meta={"note": "private to the merchant"})
    settle(payment)
    url = shop.client().get(f"/api/v1/payments/{payment.public_id}").json()["receipt_url"]
    assert url.startswith("http") and f"/receipts/payments/{payment.public_id}/" in url
    path = urlsplit(url).path
    page = Client().get(path)
    assert page.status_code == 200 and page["Referrer-Policy"] == "no-referrer"
    text = page.content.decode()
    assert "Alice&#x27;s shop" in text and payment.public_id in text
    assert "0.01 ETH" in text and "20.00 USD" in text
    assert payment.sender not in text and "private to the merchant" not in text  # nothing but a receipt
    assert Client().get(path[:-1] + ("x" if path[-1] != "x" else "y")).status_code == 404
    assert Client().get(f"/receipts/payments/{payment.public_id}/").status_code == 404
    other = make_payment(shop.address, wei=1)  # another payment's id with this token: 404
    assert Client().get(path.replace(payment.public_id, other.public_id)).status_code == 404
