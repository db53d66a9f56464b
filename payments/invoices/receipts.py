"""The public receipt page of an invoice: `/receipts/<invoice id>/<receipt token>`.

Whoever holds the link (the customer: it is mailed to them and shown once they paid) sees what a
receipt shows and nothing more: the merchant's name, the invoice's description, order id, price,
each payment (amount, time, fiat value at that time) and, for payments carried by a channel
state, the server-side verification of the signed state (the dashboard's receipt check). No
addresses other than the receiving one, no metadata, no customer email."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from hub.purchases.models import Payment
from payments.dashboard.selectors import payment_receipts
from payments.invoices.models import Invoice
from payments.invoices.selectors import invoice_by_receipt
from payments.units import exact_amount, format_amount


def receipt_lines(invoice: Invoice) -> list[dict[str, Any]]:
    lines = []
    payments = {p.pk: p for p in Payment.objects.select_related(
        "payer_update__channel", "disbursement__channel").filter(
        pk__in=[row.payment_id for row in invoice.payments.filter(source="hub")])}
    for row in invoice.payments.order_by("id"):
        payment = payments.get(row.payment_id) if row.source == "hub" else None
        lines.append({
            "paid_at": row.paid_at, "amount": format_amount(int(row.amount), row.asset),
            "exact": exact_amount(int(row.amount), row.asset), "late": row.late,
            "fiat": (f"{row.fiat_value} {row.fiat_currency}" if row.fiat_value is not None else ""),
            "payment_id": payment.public_id if payment is not None else "",
            "checks": payment_receipts(payment) if payment is not None else [],
        })
    return lines


@never_cache
def receipt(request: HttpRequest, invoice_id: str, token: str) -> HttpResponse:
    invoice = invoice_by_receipt(invoice_id, token)
    if invoice is None or int(invoice.amount_received) == 0:
        raise Http404("no such receipt")
    response = render(request, "payments/receipt.html", {
        "invoice": invoice, "merchant_name": invoice.merchant.name,
        "amount": format_amount(int(invoice.amount), invoice.asset),
        "received": format_amount(int(invoice.amount_received), invoice.asset),
        "lines": receipt_lines(invoice),
    })
    response["Referrer-Policy"] = "no-referrer"  # the URL is the secret
    response["X-Robots-Tag"] = "noindex"
    return response
