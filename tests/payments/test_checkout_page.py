"""The hosted checkout page as a shopper reads it: the QR opens the page itself, amounts in ETH/SPD,
what is left to pay, pay options only while payable, the receipt and the return link, and the
merchant API's success_url."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from payments.invoices.models import Invoice
from payments.invoices.services import invoice_apply_payment, invoice_create
from payments.invoices.views import qr_svg
from tests.payments.conftest import Shop

pytestmark = pytest.mark.django_db


def page(invoice: Invoice) -> str:
    response = Client().get(f"/pay/{invoice.public_id}")
    assert response.status_code == 200
    return response.content.decode()


def test_qr_encodes_the_checkout_url_not_a_transfer(shop: Shop, settings: Any) -> None:
    settings.CHECKOUT_ADDRESS = "0x" + "ab" * 20
    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=10**18, asset="wei")
    html = page(invoice)
    assert qr_svg(f"http://testserver/pay/{invoice.public_id}") in html
    assert "ethereum:" not in html
    assert "Pay with a browser wallet" in html and "Pay from a payment channel" in html
    settings.CHECKOUT_ADDRESS = None  # no contract: no wallet button, the other ways remain
    html = page(invoice)
    assert "Pay with a browser wallet" not in html and "Pay from a payment channel" in html


def test_partly_paid_asks_for_the_rest(shop: Shop) -> None:
    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=5 * 10**18, asset="token")
    invoice_apply_payment(invoice_id=invoice.public_id, merchant_id=shop.merchant.pk, payment_id=41,
                          amount=2 * 10**18, asset="token", paid_at=timezone.now())
    html = page(invoice)
    assert "Still to pay" in html and "3 SPD" in html and "Received so far: <span id=\"received-amount\">2 SPD" in html
    status = Client().get(f"/pay/{invoice.public_id}/status.json").json()
    assert (status["remaining"], status["remaining_text"], status["payable"]) == (str(3 * 10**18), "3 SPD", True)


def test_paid_and_expired_invoices_offer_no_payment(shop: Shop) -> None:
    paid = invoice_create(merchant_id=shop.merchant.pk, amount=1000, asset="wei",
                          success_url="https://shop.example/done")
    invoice_apply_payment(invoice_id=paid.public_id, merchant_id=shop.merchant.pk, payment_id=42,
                          amount=1000, asset="wei", paid_at=timezone.now())
    html = page(paid)
    assert '<section id="pay-options" hidden>' in html and '<section id="receipt" aria' in html
    assert 'href="https://shop.example/done"' in html
    expired = invoice_create(merchant_id=shop.merchant.pk, amount=1000, asset="wei",
                             now=timezone.now() - timedelta(hours=2), expires_in=60)
    html = page(expired)
    assert '<section id="pay-options" hidden>' in html and '<section id="receipt" hidden' in html
    assert Client().get(f"/pay/{expired.public_id}/intent.json", {"payer": "0x" + "22" * 20}).status_code == 409


def test_unknown_invoice_is_the_project_404(shop: Shop) -> None:
    response = Client().get("/pay/inv_nothing_here")
    assert response.status_code == 404 and "This page does not exist" in response.content.decode()


def test_success_url_on_the_api(shop: Shop) -> None:
    api = shop.client()
    made = api.post("/api/v1/invoices", {"amount": "1000", "asset": "wei",
                                     "success_url": "https://shop.example/thanks"})
    assert made.status_code == 201, made.json()
    assert made.json()["success_url"] == "https://shop.example/thanks"
    for bad in ("javascript:alert(1)", "ftp://shop.example/x", "not a url"):
        refused = api.post("/api/v1/invoices", {"amount": "1000", "asset": "wei", "success_url": bad})
        assert refused.status_code == 400, bad
        assert refused.json()["error"]["param"] == "success_url"


def test_payments_switched_off_hide_the_pay_options_and_refuse_intents(shop: Shop, settings: Any) -> None:
    from ops.models import _SWITCH_CACHE, GlobalSwitches

    settings.CHECKOUT_ADDRESS = "0x" + "ab" * 20
    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=1000, asset="wei")
    switches = GlobalSwitches.current()
    switches.payments_enabled = False
    switches.save()
    _SWITCH_CACHE.clear()
    try:
        html = page(invoice)
        assert 'id="payments-paused"' in html and '<section id="pay-options" hidden>' in html
        refused = Client().get(f"/pay/{invoice.public_id}/intent.json", {"payer": "0x" + "22" * 20})
        assert (refused.status_code, refused.json()["error"]["code"]) == (503, "payments_disabled")
    finally:
        _SWITCH_CACHE.clear()


def test_dashboard_invoice_form_takes_a_return_link() -> None:
    from payments.dashboard.forms import InvoiceCreateForm

    base = {"amount": "0.25", "asset": "wei", "expires_in_minutes": "15"}
    ok = InvoiceCreateForm({**base, "success_url": "https://shop.example/thanks"})
    assert ok.is_valid(), ok.errors
    assert ok.cleaned_data["success_url"] == "https://shop.example/thanks"
    assert InvoiceCreateForm(base).is_valid()
    for bad in ("javascript:alert(1)", "ftp://shop.example/x"):
        refused = InvoiceCreateForm({**base, "success_url": bad})
        assert not refused.is_valid() and "success_url" in refused.errors, bad


def test_the_checkout_speaks_the_browsers_language(shop: Shop, settings: Any) -> None:
    settings.CHECKOUT_ADDRESS = "0x" + "ab" * 20
    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=5 * 10**18, asset="token")
    invoice_apply_payment(invoice_id=invoice.public_id, merchant_id=shop.merchant.pk, payment_id=43,
                          amount=2 * 10**18, asset="token", paid_at=timezone.now())
    german = Client().get(f"/pay/{invoice.public_id}", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="de">' in german
    assert "Wie möchten Sie bezahlen?" in german and "Mit einer Browser-Wallet bezahlen" in german
    assert "Noch zu zahlen" in german and '<strong id="status-text">Teilweise bezahlt</strong>' in german
    assert 'Bisher erhalten: <span id="received-amount">2 SPD</span> von 5 SPD.' in german
    assert "3 SPD mit meiner Wallet bezahlen" in german and 'aria-label="QR-Code dieser Bezahlseite"' in german
    # the script's texts travel in the same language
    assert '"payButton": "%(amount)s mit meiner Wallet bezahlen"' in german
    assert '"void": "Ung\\u00fcltig"' in german
    for english in ("How would you like to pay?", "Still to pay", "Pay with a browser wallet", "Receipt"):
        assert english not in german
    english = Client().get(f"/pay/{invoice.public_id}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in english and "How would you like to pay?" in english
    assert '<strong id="status-text">Partially paid</strong>' in english


def test_a_void_invoice_says_so_in_words(shop: Shop) -> None:
    from payments.invoices.services import invoice_void

    invoice = invoice_create(merchant_id=shop.merchant.pk, amount=1000, asset="wei")
    invoice_void(merchant_id=shop.merchant.pk, invoice_id=invoice.public_id)
    html = page(invoice)
    assert '<strong id="status-text">Void</strong>' in html and '<section id="pay-options" hidden>' in html
    assert '<p id="void-note" class="note">' in html
    german = Client().get(f"/pay/{invoice.public_id}", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<strong id="status-text">Ungültig</strong>' in german and "storniert" in german
