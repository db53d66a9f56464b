"""Invoices: list with filters and search, detail with the payments applied, create."""

from __future__ import annotations

import re

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from payments.dashboard import forms, services
from payments.dashboard.money import parse_human
from payments.dashboard.once import once_only
from payments.dashboard.selectors import invoice_money, invoices_for_merchant
from payments.dashboard.views.base import dash_of, dashboard_view, page, paginate
from payments.errors import PaymentsError
from payments.invoices.models import Invoice
from payments.invoices.selectors import invoice_excess
from payments.invoices.services import invoice_create


@never_cache
@dashboard_view("invoices")
def invoices_view(request: HttpRequest) -> HttpResponse:
    form = forms.InvoiceFilterForm(request.GET or None)
    d = form.cleaned_data if form.is_valid() else {}
    rows = invoices_for_merchant(dash_of(request).merchant_id, state=d.get("state", ""),
                                 asset=d.get("asset", ""), start=d.get("start"), end=d.get("end"),
                                 q=d.get("q", ""))
    page_obj, query = paginate(request, rows)
    for inv in page_obj:
        inv.money = invoice_money(inv)
        inv.received = invoice_money(inv, int(inv.amount_received))
    return page(request, "dashboard/invoices.html", {"form": form, "page_obj": page_obj, "query": query})


def _invoice_page(request: HttpRequest, invoice_id: str, *, error: str = "", status: int = 200) -> HttpResponse:
    dash = dash_of(request)
    invoice = (invoices_for_merchant(dash.merchant_id).filter(public_id=invoice_id).first()
               if INVOICE_ID.fullmatch(invoice_id) else None)
    if invoice is None:
        raise Http404("no such invoice")
    from hub.purchases.selectors import payment_public_id_of

    applied = list(invoice.payments.annotate(payment_public_id=payment_public_id_of()))
    for a in applied:
        a.money = invoice_money(invoice, int(a.amount))  # type: ignore[attr-defined]
    remaining = max(0, int(invoice.amount) - int(invoice.amount_received))
    excess = invoice_excess(invoice)
    return page(request, "dashboard/invoice_detail.html", {
        "invoice": invoice, "money": invoice_money(invoice),
        "received": invoice_money(invoice, int(invoice.amount_received)),
        "remaining": invoice_money(invoice, remaining), "applied": applied,
        "checkout_url": request.build_absolute_uri(reverse("payments:checkout", args=[invoice.public_id])),
        "can_void": dash.can("invoices", "write") and invoice.state == Invoice.State.OPEN
        and int(invoice.amount_received) == 0,
        "excess": invoice_money(invoice, excess),
        "can_refund_excess": excess > 0 and dash.can("refunds", "write"),
        "void_error": error,
    }, status=status)


# what an invoice's public id can be (payments/ids.py makes `inv_` + 24 hex characters)
INVOICE_ID = re.compile(r"[A-Za-z0-9_]{1,40}")


@never_cache
@dashboard_view("invoices")
def invoice_detail_view(request: HttpRequest, invoice_id: str) -> HttpResponse:
    return _invoice_page(request, invoice_id)


@require_POST
@dashboard_view("invoices", "write")
@once_only("payments:dashboard:invoices")
def invoice_void_view(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """Void an open invoice that has received nothing (a 409 page with the reason otherwise)."""
    if not INVOICE_ID.fullmatch(invoice_id):
        raise Http404("no such invoice")
    try:
        services.invoice_void_by(request, merchant_id=dash_of(request).merchant_id, invoice_id=invoice_id)
    except PaymentsError as exc:
        if exc.code == "resource_missing":
            raise Http404("no such invoice") from None
        return _invoice_page(request, invoice_id, error=exc.message, status=409)
    messages.success(request, _("The invoice was voided: its checkout page accepts no payment."))
    return redirect("payments:dashboard:invoice", invoice_id=invoice_id)


@require_POST
@dashboard_view("refunds", "write")
@once_only("payments:dashboard:invoices")
def invoice_refund_excess_view(request: HttpRequest, invoice_id: str) -> HttpResponse:
    """Give an invoice's excess back to its payers in one click (what it received beyond its
    amount, or everything when it expired unpaid): one refund per payment, like the API's
    POST /invoices/{id}/refund_excess. A 409 page with the reason when there is nothing to refund."""
    if not INVOICE_ID.fullmatch(invoice_id):
        raise Http404("no such invoice")
    try:
        _invoice, refunds = services.invoice_refund_excess_by(
            request, merchant_id=dash_of(request).merchant_id, invoice_id=invoice_id)
    except PaymentsError as exc:
        if exc.code == "resource_missing":
            raise Http404("no such invoice") from None
        return _invoice_page(request, invoice_id, error=exc.message, status=409)
    messages.success(request, _("Refunding the excess: %(count)s refund(s) created; each payer is paid back off-chain, "
                                "or on chain to its refund address when it paid on chain.")
                     % {"count": len(refunds)})
    return redirect("payments:dashboard:invoice", invoice_id=invoice_id)


@never_cache
@dashboard_view("invoices", "write")
@once_only("payments:dashboard:invoices")
def invoice_new_view(request: HttpRequest) -> HttpResponse:
    form = forms.InvoiceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            invoice = invoice_create(
                merchant_id=dash_of(request).merchant_id, amount=parse_human(d["amount"], d["asset"]),
                asset=d["asset"], description=d["description"], order_id=d["order_id"],
                expires_in=d["expires_in_minutes"] * 60, success_url=d["success_url"])
            messages.success(request, f"Invoice {invoice.public_id} created.")
            return redirect("payments:dashboard:invoice", invoice_id=invoice.public_id)
        except PaymentsError as exc:
            form.add_error("amount" if exc.param == "amount" else None, exc.human_message)
    return page(request, "dashboard/invoice_new.html", {"form": form}, status=400 if form.errors else 200)
