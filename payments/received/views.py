"""The public receipt page of a payment: `/receipts/payments/<payment id>/<receipt token>`.

For a payment that pays no invoice (an invoice's receipt is the invoice's page, which lists its
payments), and for any recorded payment: whoever holds the link sees the merchant's name, the
amount, when it was paid, its fiat value then and the server-side verification of the signed
state that carried it. No payer address, no metadata."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from hub.purchases.models import Payment
from payments.dashboard.selectors import payment_receipts
from payments.received.selectors import received_payment_by_receipt
from payments.units import exact_amount, format_amount


@never_cache
def payment_receipt(request: HttpRequest, payment_id: str, token: str) -> HttpResponse:
    found = received_payment_by_receipt(payment_id, token)
    if found is None:
        raise Http404("no such receipt")
    payment, row = found
    payment = Payment.objects.select_related("payer_update__channel", "disbursement__channel").get(pk=payment.pk)
    response = render(request, "payments/payment_receipt.html", {
        "payment": payment, "row": row, "merchant_name": row.merchant.name,
        "amount": format_amount(int(row.amount), row.asset), "exact": exact_amount(int(row.amount), row.asset),
        "fiat": f"{row.fiat_value} {row.fiat_currency}" if row.fiat_value is not None else "",
        "checks": payment_receipts(payment),
    })
    response["Referrer-Policy"] = "no-referrer"  # the URL is the secret
    response["X-Robots-Tag"] = "noindex"
    return response
