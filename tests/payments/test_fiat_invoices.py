"""Fiat-priced invoices (rate locked at creation), fiat values recorded on payments, refunds and
settlements, and the late/partial/over-payment policy: credited, flagged, refund_excess."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from hub.rates.models import ExchangeRate
from payments import conf
from payments.events.models import Event
from payments.invoices.models import Invoice, InvoicePayment
from payments.invoices.services import invoice_apply_payment
from payments.refunds.models import Refund
from tests.dashboard.helpers import make_payment
from tests.payments.conftest import Shop


def set_rate(rate: str, *, ago: timedelta = timedelta(minutes=1)) -> ExchangeRate:
    return ExchangeRate.objects.create(rate=rate, source="operator", retrieved_at=timezone.now() - ago)


def test_a_usd_price_is_converted_at_the_current_rate_and_the_rate_is_locked(shop: Shop) -> None:
    set_rate("2000")
    api = shop.client()
    created = api.post("/api/v1/invoices", {"currency": "USD", "price": "19.99", "asset": "wei"})
    assert created.status_code == 201, created.content
    body = created.json()
    # 19.99 / 2000 ETH = 0.009995 ETH
    assert body["amount"] == str(9_995_000_000_000_000)
    assert (body["currency"], body["price"], body["rate_source"]) == ("USD", "19.99", "hub:operator")
    assert Decimal(body["rate"]) == Decimal(2000)
    set_rate("4000", ago=timedelta(0))  # the rate moves; the invoice keeps its own
    again = api.get(f"/api/v1/invoices/{body['id']}").json()
    assert again["amount"] == body["amount"] and Decimal(again["rate"]) == Decimal(2000)


def test_amounts_round_up_to_a_whole_base_unit(shop: Shop) -> None:
    set_rate("3")
    body = shop.client().post("/api/v1/invoices", {"currency": "USD", "price": "1.00", "asset": "wei"}).json()
    assert body["amount"] == "333333333333333334"  # never less than the price


def test_token_invoices_use_the_dollar_peg_and_eur_needs_an_operator_rate(
        shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    api = shop.client()
    usd = api.post("/api/v1/invoices", {"currency": "USD", "price": "5", "asset": "token"}).json()
    assert usd["amount"] == str(5 * 10**18) and usd["rate_source"] == "peg"
    refused = api.post("/api/v1/invoices", {"currency": "EUR", "price": "5", "asset": "token"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "rate_unavailable"
    monkeypatch.setitem(conf.FIAT_PER_USD, "EUR", "0.5")
    eur = api.post("/api/v1/invoices", {"currency": "EUR", "price": "5", "asset": "token"}).json()
    assert eur["amount"] == str(10 * 10**18) and eur["rate_source"] == "peg*SPOKE_FIAT_EUR_PER_USD"


def test_no_current_rate_refuses_and_bad_input_is_a_400(shop: Shop) -> None:
    api = shop.client()
    set_rate("2000", ago=timedelta(days=2))  # older than the hub's 24 h limit
    stale = api.post("/api/v1/invoices", {"currency": "USD", "price": "1", "asset": "wei"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "rate_unavailable"
    for body, param in [
        ({"currency": "USD", "price": "1.001", "asset": "token"}, "price"),
        ({"currency": "USD", "price": "-1", "asset": "token"}, "price"),
        ({"currency": "GBP", "price": "1", "asset": "token"}, "currency"),
        ({"currency": "USD", "price": "1", "amount": "5", "asset": "token"}, "amount"),
        ({"currency": "USD", "asset": "token"}, "price"),
        ({"amount": "5", "asset": "token", "customer_email": "not-an-email"}, "customer_email"),
    ]:
        answer = api.post("/api/v1/invoices", body)
        assert answer.status_code == 400, (body, answer.content)
        assert answer.json()["error"]["param"] == param, (body, answer.content)
    assert Invoice.objects.count() == 0


def pay(invoice_id: str, shop: Shop, amount: int, *, late: bool = False) -> InvoicePayment:
    invoice = Invoice.objects.get(public_id=invoice_id)
    payment = make_payment(shop.address, wei=amount)
    when = invoice.expires_at + timedelta(seconds=5) if late else timezone.now()
    invoice_apply_payment(invoice_id=invoice_id, merchant_id=shop.merchant.pk, payment_id=payment.pk,
                          amount=amount, asset="wei", paid_at=when)
    return InvoicePayment.objects.get(payment_id=payment.pk)


def test_payments_record_their_fiat_value_then_and_the_overpayment_is_flagged_and_refundable(
        shop: Shop) -> None:
    set_rate("2000")
    api = shop.client()
    invoice = api.post("/api/v1/invoices", {"currency": "USD", "price": "20", "asset": "wei"}).json()
    assert invoice["amount"] == str(10**16)
    set_rate("3000", ago=timedelta(0))
    row = pay(invoice["id"], shop, 10**16 + 5 * 10**15)  # 0.015 ETH at $3000 = $45
    assert (row.fiat_currency, row.fiat_value, row.fiat_rate_source) == ("USD", Decimal("45.00"), "hub:operator")
    body = api.get(f"/api/v1/invoices/{invoice['id']}").json()
    assert body["status"] == "overpaid" and body["amount_overpaid"] == str(5 * 10**15)
    assert body["amount_excess"] == str(5 * 10**15) and body["paid_late"] is False
    assert body["receipt_url"].startswith("http")
    types = list(Event.objects.filter(merchant=shop.merchant).values_list("type", flat=True))
    assert "invoice.payment_flagged" in types

    refunded = api.post(f"/api/v1/invoices/{invoice['id']}/refund_excess", idempotency_key="excess-1")
    assert refunded.status_code == 201, refunded.content
    result = refunded.json()
    assert result["invoice"]["amount_excess"] == "0"
    assert [r["amount"] for r in result["refunds"]] == [str(5 * 10**15)]
    assert (result["refunds"][0]["fiat_value"], result["refunds"][0]["fiat_currency"]) == ("15.00", "USD")
    refund = Refund.objects.get(invoice__public_id=invoice["id"])
    assert refund.reason == "excess_payment" and refund.fiat_value == Decimal("15.00")
    assert api.post(f"/api/v1/invoices/{invoice['id']}/refund_excess",
                    idempotency_key="excess-1").json() == result  # replayed, not repeated
    again = api.post(f"/api/v1/invoices/{invoice['id']}/refund_excess")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invoice_no_excess"
    assert Refund.objects.count() == 1


def test_a_late_partial_payment_is_credited_flagged_and_refundable_in_full(shop: Shop) -> None:
    api = shop.client()
    invoice = api.post("/api/v1/invoices", {"amount": "1000", "asset": "wei",
                                            "customer_email": "buyer@example.com"}).json()
    none = api.post(f"/api/v1/invoices/{invoice['id']}/refund_excess")
    assert none.status_code == 409 and none.json()["error"]["code"] == "invoice_no_excess"
    pay(invoice["id"], shop, 400, late=True)
    body = api.get(f"/api/v1/invoices/{invoice['id']}").json()
    assert body["status"] == "expired" and body["paid_late"] is True and body["amount_received"] == "400"
    assert body["amount_overpaid"] == "0" and body["amount_excess"] == "400"
    assert body["customer_email"] == "buyer@example.com"
    result = api.post(f"/api/v1/invoices/{invoice['id']}/refund_excess").json()
    assert [r["amount"] for r in result["refunds"]] == ["400"]
