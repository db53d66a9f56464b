"""Payments (list, detail with the signed-state receipt, refund) and refunds."""

from __future__ import annotations

import json
import re
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from hub.purchases.models import Payment
from payments.dashboard import forms, services
from payments.dashboard.money import Money, parse_human
from payments.dashboard.once import once_only
from payments.dashboard.selectors import (
    PaymentFilters,
    PaymentsPage,
    payment_asset,
    payment_for_merchant,
    payment_money,
    payment_receipts,
    payments_page,
    refunds_for_merchant,
)
from payments.dashboard.views.base import PAGE_SIZE, dash_of, dashboard_view, page, paginate
from payments.errors import PaymentsError
from payments.refunds.models import Refund


def filters_from(form: forms.PaymentFilterForm) -> PaymentFilters:
    if not form.is_valid():
        return PaymentFilters()
    d = form.cleaned_data
    return PaymentFilters(status=d["status"], type=d["type"], asset=d["asset"], start=d["start"],
                          end=d["end"], q=d["q"], meta=d["meta"], sort=d["sort"])


SORT_COLUMNS = (("amount", _("Amount")), ("status", _("Status")), ("created", _("When")))


def sort_links(request: HttpRequest, current: str) -> dict[str, dict[str, str]]:
    """Per sortable column: the URL that sorts by it (the other way round when it is the
    current sort) and its aria-sort value."""
    links = {}
    for name, label in SORT_COLUMNS:
        query = request.GET.copy()
        for key in ("page", "after", "before"):
            query.pop(key, None)
        active = current.lstrip("-") == name or (not current and name == "created")
        descending = current.startswith("-") or (not current and name == "created")
        query["sort"] = (name if descending else f"-{name}") if active else f"-{name}"
        links[name] = {"url": "?" + query.urlencode(), "label": str(label),
                       "aria": ("descending" if descending else "ascending") if active else "none"}
    return links


MAX_PAGE = 10**9


@never_cache
@dashboard_view("payments")
def payments_view(request: HttpRequest) -> HttpResponse:
    """Filters, search (ids, payer, metadata) and sorting; a value the form refuses (an
    unknown sort, a far date, a malformed metadata key) is a 400 with the form's message."""
    form = forms.PaymentFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()
    try:
        # a page number's row offset must fit PostgreSQL's bigint: far pages are simply empty
        number = min(max(int(request.GET.get("page", "1")), 1), MAX_PAGE)
    except ValueError:
        number = 1
    listed = PaymentsPage([], "", "") if invalid else payments_page(
        dash_of(request).merchant_id, filters_from(form), after=request.GET.get("after", ""),
        before=request.GET.get("before", ""), page=number, size=PAGE_SIZE)
    for p in listed.rows:
        p.money = payment_money(p)  # type: ignore[attr-defined]
    sort = form.cleaned_data.get("sort", "") if not invalid and form.is_bound else ""
    query = request.GET.copy()
    for key in ("page", "after", "before"):
        query.pop(key, None)
    return page(request, "dashboard/payments.html", {
        "form": form, "listed": listed, "query": query.urlencode(), "by_time": sort in ("", "-created"),
        "sort_links": sort_links(request, sort)},
        status=400 if invalid else 200)


def _payment_or_404(request: HttpRequest, payment_id: str) -> Any:
    payment = payment_for_merchant(dash_of(request).merchant_id, payment_id)
    if payment is None:
        raise Http404("no such payment")
    return payment


# What an invoice's public id can be (payments/ids.py makes `inv_` + 24 hex characters).
INVOICE_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")


def _invoice_id(payment: Payment) -> str | None:
    """The invoice the payer named, if it looks like one: meta is the payer's to write, and the
    page links to it (a value the URL cannot hold must not break the page)."""
    value = payment.meta.get("invoiceId") or payment.meta.get("invoice_id")
    return value if isinstance(value, str) and INVOICE_ID.fullmatch(value) else None


@never_cache
@dashboard_view("payments")
def payment_detail_view(request: HttpRequest, payment_id: str) -> HttpResponse:
    payment = _payment_or_404(request, payment_id)
    money = payment_money(payment)
    refunds = list(Refund.objects.filter(merchant_id=dash_of(request).merchant_id, payment_id=payment.pk))
    for r in refunds:
        r.money = Money(int(r.amount), r.asset)  # type: ignore[attr-defined]
    return page(request, "dashboard/payment_detail.html", {
        "payment": payment, "money": money, "receipts": payment_receipts(payment),
        "refunds": refunds, "refund_form": forms.RefundForm(), "asset": payment_asset(payment),
        "invoice_id": _invoice_id(payment), **_refund_facts(payment, money),
        "can_refund": dash_of(request).can("refunds", "write"),
    })


def _refund_facts(payment: Any, money: Money) -> dict[str, Any]:
    """What was refunded of the payment (succeeded refunds) and what is left to refund."""
    refunded = int(getattr(payment, "refunded", 0) or 0)
    return {"refunded": Money(refunded, money.asset, money.rate, money.rate_at),
            "refundable": Money(max(money.amount - refunded, 0), money.asset, money.rate, money.rate_at)}


@never_cache
@dashboard_view("payments")
def payment_receipt_json_view(request: HttpRequest, payment_id: str) -> HttpResponse:
    """The receipt to verify offline: every signed field, the hash and both signatures."""
    payment = _payment_or_404(request, payment_id)
    body = {
        "payment": payment.public_id, "type": payment.type, "sender": payment.sender,
        "recipient": payment.recipient, "amountWei": str(payment.amount_wei),
        "amountToken": str(payment.amount_token), "createdAt": payment.created_at.isoformat(),
        "signedStates": [r.as_json() for r in payment_receipts(payment)],
        "verify": "keccak256(abi.encodePacked(contractAddress, [user, recipient], [weiHub, weiUser], "
                  "[tokenHub, tokenUser], [pendingDepositWeiHub, pendingWithdrawalWeiHub, "
                  "pendingDepositWeiUser, pendingWithdrawalWeiUser], [same for tokens], "
                  "[txCountGlobal, txCountChain], threadRoot, threadCount, timeout)) == stateHash; "
                  "ecrecover of the personal-message-prefixed stateHash with sigHub is the hub and "
                  "with sigUser is the user",
    }
    response = HttpResponse(json.dumps(body, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="receipt-{payment.public_id}.json"'
    return response


@require_POST
@dashboard_view("refunds", "write")
@once_only("payments:dashboard:payment")
def refund_create_view(request: HttpRequest, payment_id: str) -> HttpResponse:
    dash = dash_of(request)
    payment = _payment_or_404(request, payment_id)
    form = forms.RefundForm(request.POST)
    error = None
    if form.is_valid():
        try:
            text = form.cleaned_data["amount"].strip()
            amount = parse_human(text, payment_asset(payment)) if text else None
            refund = services.refund_create_by(request, merchant_id=dash.merchant_id, payment_id=payment.pk,
                                               amount=amount, reason=form.cleaned_data["reason"])
            messages.success(request, f"Refund {refund.public_id} of {Money(int(refund.amount), refund.asset).label} "
                                      f"to {refund.recipient} requested: it is sent within a minute.")
            return redirect("payments:dashboard:payment", payment_id=payment.public_id)
        except PaymentsError as exc:
            error = exc.human_message
    money = payment_money(payment)
    return page(request, "dashboard/payment_detail.html", {
        "payment": payment, "money": money, "receipts": payment_receipts(payment), "refunds": [],
        "refund_form": form, "refund_error": error or "Check the refund form.", **_refund_facts(payment, money),
        "asset": payment_asset(payment), "can_refund": True}, status=400)


@never_cache
@dashboard_view("refunds")
def refunds_view(request: HttpRequest) -> HttpResponse:
    form = forms.RefundFilterForm(request.GET or None)
    invalid = form.is_bound and not form.is_valid()
    d = form.cleaned_data if form.is_bound and not invalid else {}
    rows = refunds_for_merchant(dash_of(request).merchant_id, state=d.get("state", ""),
                                start=d.get("start"), end=d.get("end"))
    page_obj, query = paginate(request, rows.none() if invalid else rows)
    for r in page_obj:
        r.money = Money(int(r.amount), r.asset)
    return page(request, "dashboard/refunds.html", {"form": form, "page_obj": page_obj, "query": query},
                status=400 if invalid else 200)
