"""Invoice states: paid, partially paid, overpaid, expired (by the actor), paid late; events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from payments.errors import PaymentsError
from payments.events.models import Event
from payments.invoices.models import Invoice
from payments.invoices.services import invoice_apply_payment, invoice_create
from payments.invoices.tasks import expire_invoices
from tests.payments.conftest import Api, Shop

State = Invoice.State


def new_invoice(shop: Shop, amount: int = 1000, **kwargs: object) -> Invoice:
    return invoice_create(merchant_id=shop.merchant.pk, amount=amount, asset="token", **kwargs)  # type: ignore[arg-type]


def pay(invoice: Invoice, payment_id: int, amount: int, *, after: timedelta = timedelta(seconds=5)) -> Invoice:
    invoice_apply_payment(invoice_id=invoice.public_id, merchant_id=invoice.merchant_id,
                          payment_id=payment_id, amount=amount, asset="token",
                          paid_at=invoice.created_at + after)
    return Invoice.objects.get(pk=invoice.pk)


def event_types(shop: Shop) -> list[str]:
    return list(Event.objects.filter(merchant=shop.merchant).order_by("id").values_list("type", flat=True))


def test_an_invoice_defaults_to_15_minutes_and_a_day_of_late_payments(shop: Shop) -> None:
    invoice = new_invoice(shop)
    assert invoice.state == State.OPEN and invoice.pay_to == shop.address
    assert invoice.expires_at - invoice.created_at == pytest.approx(timedelta(minutes=15), abs=timedelta(seconds=2))
    assert invoice.late_payment_until - invoice.expires_at == timedelta(hours=24)
    assert event_types(shop) == ["invoice.created"]


def test_the_exact_amount_pays_it(shop: Shop) -> None:
    invoice = pay(new_invoice(shop), 1, 1000)
    assert invoice.state == State.PAID and invoice.amount_received == 1000 and invoice.paid_at is not None
    assert event_types(shop) == ["invoice.created", "invoice.paid"]


def test_less_is_partially_paid_and_the_rest_pays_it(shop: Shop) -> None:
    invoice = pay(new_invoice(shop), 1, 400)
    assert invoice.state == State.PARTIALLY_PAID
    invoice = pay(invoice, 2, 600)
    assert invoice.state == State.PAID and invoice.amount_received == 1000
    assert event_types(shop) == ["invoice.created", "invoice.partially_paid", "invoice.paid"]


def test_more_is_overpaid(shop: Shop) -> None:
    assert pay(new_invoice(shop), 1, 1001).state == State.OVERPAID
    paid = pay(new_invoice(shop), 2, 1000)
    assert pay(paid, 3, 1).state == State.OVERPAID
    assert event_types(shop).count("invoice.overpaid") == 2


def test_applying_the_same_payment_twice_counts_it_once(shop: Shop) -> None:
    invoice = pay(new_invoice(shop), 7, 400)
    invoice = pay(invoice, 7, 400)
    assert invoice.amount_received == 400 and invoice.state == State.PARTIALLY_PAID


def test_the_actor_expires_open_and_partially_paid_invoices_past_expiry(shop: Shop) -> None:
    past = timezone.now() - timedelta(hours=1)
    stale = new_invoice(shop, now=past)
    partial = pay(new_invoice(shop, now=past), 1, 10)
    fresh = new_invoice(shop)
    expire_invoices()
    assert Invoice.objects.get(pk=stale.pk).state == State.EXPIRED
    assert Invoice.objects.get(pk=partial.pk).state == State.EXPIRED
    assert Invoice.objects.get(pk=fresh.pk).state == State.OPEN
    assert event_types(shop).count("invoice.expired") == 2


def test_payment_after_expiry_within_the_window_is_paid_late(shop: Shop) -> None:
    invoice = new_invoice(shop, now=timezone.now() - timedelta(hours=1))
    expire_invoices()
    invoice = pay(invoice, 1, 1000, after=timedelta(hours=1))
    assert invoice.state == State.PAID_LATE
    assert event_types(shop)[-3:] == ["invoice.expired", "invoice.paid_late", "invoice.payment_flagged"]


def test_payment_after_the_late_window_is_refused(shop: Shop) -> None:
    invoice = new_invoice(shop)
    with pytest.raises(PaymentsError) as refused:
        pay(invoice, 1, 1000, after=timedelta(hours=25))
    assert refused.value.code == "invoice_not_payable"
    with pytest.raises(PaymentsError) as wrong_asset:
        invoice_apply_payment(invoice_id=invoice.public_id, merchant_id=invoice.merchant_id,
                              payment_id=2, amount=1000, asset="wei", paid_at=timezone.now())
    assert wrong_asset.value.code == "invoice_asset_mismatch"


def test_the_checkout_page_shows_the_amount_a_qr_code_and_polls_its_status(shop: Shop) -> None:
    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=1_500_000_000_000_000_000, asset="wei")
    page = Api(None).client.get(f"/pay/{invoice.public_id}")
    html = page.content.decode()
    assert page.status_code == 200
    assert "1.5 ETH" in html and "<svg" in html and f"/pay/{invoice.public_id}/status.json" in html
    # no external assets: scripts, styles and the icon come from our own /static/
    assert 'src="http' not in html and 'href="http' not in html and 'src="//' not in html
    status = Api(None).client.get(f"/pay/{invoice.public_id}/status.json").json()
    assert status["status"] == "open" and status["amount"] == "1500000000000000000"
    assert Api(None).client.get("/pay/inv_missing").status_code == 404
