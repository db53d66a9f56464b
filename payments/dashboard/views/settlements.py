"""Settlements: history, request one now, the automatic rule."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from payments import conf
from payments.balances.selectors import custodial_balance
from payments.dashboard import forms, services
from payments.dashboard.csv_export import _cell
from payments.dashboard.money import Money, parse_human
from payments.dashboard.once import once_only
from payments.dashboard.views.base import dash_of, dashboard_view, page, paginate
from payments.errors import PaymentsError
from payments.merchants.services import normalize_address
from payments.settlements.selectors import (
    REPORT_COLUMNS,
    settlement_report,
    settlements_for_merchant,
)
from payments.units import ASSETS


def _rule_initial(merchant: Any) -> dict[str, str]:
    def human(value: int | None, asset: str) -> str:
        return "" if value is None else Money(int(value), asset).human

    return {"payout_address": merchant.payout_address,
            "threshold_wei": human(merchant.settlement_threshold_wei, "wei"),
            "threshold_token": human(merchant.settlement_threshold_token, "token"),
            "schedule": merchant.settlement_schedule}


def _page(request: HttpRequest, *, request_form: forms.SettlementRequestForm | None = None,
          rule_form: forms.SettlementRuleForm | None = None, status: int = 200) -> HttpResponse:
    dash = dash_of(request)
    dash.merchant.refresh_from_db()
    filters = forms.SettlementFilterForm(request.GET or None)
    invalid = filters.is_bound and not filters.is_valid()
    d = filters.cleaned_data if filters.is_bound and not invalid else {}
    rows = settlements_for_merchant(dash.merchant_id, status=d.get("state") or None,
                                    start=d.get("start"), end=d.get("end"))
    page_obj, query = paginate(request, rows.none() if invalid else rows)
    for s in page_obj:
        s.money = Money(int(s.amount), s.asset)
        s.tx = settlement_tx(s)
    if invalid:
        status = 400
    return page(request, "dashboard/settlements.html", {
        "page_obj": page_obj, "query": query, "filters": filters,
        "available": [Money(custodial_balance(dash.merchant_id, a), a) for a in ASSETS],
        "request_form": request_form or forms.SettlementRequestForm(),
        "rule_form": rule_form or forms.SettlementRuleForm(initial=_rule_initial(dash.merchant)),
    }, status=status)


@never_cache
@dashboard_view("settlements")
def settlements_view(request: HttpRequest) -> HttpResponse:
    return _page(request)


SETTLEMENT_ID = re.compile(r"[A-Za-z0-9_]{1,40}")


@dataclass(frozen=True)
class TxView:
    tx_hash: str
    explorer_url: str
    state: str
    block_number: int | None


def settlement_tx(settlement: Any) -> TxView | None:
    """The settlement's on-chain transaction: the mined hash, else the latest broadcast one,
    with the deployment's explorer link (EXPLORER_TX_URL, `{tx}` for the hash; none when unset)."""
    tx = settlement.chain_transaction
    if tx is None:
        return None
    attempts = list(tx.attempts.all())  # prefetched
    tx_hash = tx.tx_hash or (attempts[-1].tx_hash if attempts else "")
    template = conf.EXPLORER_TX_URL
    url = template.replace("{tx}", tx_hash) if tx_hash and "{tx}" in template else ""
    return TxView(tx_hash, url, tx.state, tx.block_number)


@never_cache
@dashboard_view("settlements")
def settlement_detail_view(request: HttpRequest, settlement_id: str) -> HttpResponse:
    dash = dash_of(request)
    settlement = (settlements_for_merchant(dash.merchant_id).filter(public_id=settlement_id).first()
                  if SETTLEMENT_ID.fullmatch(settlement_id) else None)
    if settlement is None:
        raise Http404("no such settlement")
    return page(request, "dashboard/settlement_detail.html", {
        "settlement": settlement, "money": Money(int(settlement.amount), settlement.asset),
        "tx": settlement_tx(settlement)})


@require_POST
@dashboard_view("settlements", "write")
@once_only("payments:dashboard:settlements")
def settlement_request_view(request: HttpRequest) -> HttpResponse:
    form = forms.SettlementRequestForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            amount = parse_human(d["amount"], d["asset"]) if d["amount"].strip() else None
            settlement = services.settlement_request_by(request, merchant_id=dash_of(request).merchant_id,
                                                        asset=d["asset"], amount=amount)
            messages.success(request, f"Settlement {settlement.public_id} of "
                                      f"{Money(int(settlement.amount), settlement.asset).label} to "
                                      f"{settlement.payout_address} requested.")
            return redirect("payments:dashboard:settlements")
        except PaymentsError as exc:
            form.add_error("amount" if exc.param == "amount" else None, exc.human_message)
    return _page(request, request_form=form, status=400)


@require_POST
@dashboard_view("settlements", "write")
@once_only("payments:dashboard:settlements")
def settlement_rule_view(request: HttpRequest) -> HttpResponse:
    form = forms.SettlementRuleForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        dash = dash_of(request)
        try:
            new_address = d["payout_address"].strip()
            if new_address and normalize_address(new_address, param="payout_address") != dash.merchant.payout_address \
                    and not services.reauthenticate(request, secret=d["reauth"], merchant_id=dash.merchant_id,
                                                    purpose="payout_address"):
                raise PaymentsError("parameter_invalid", "Enter your password or a current code from your "
                                    "authenticator to change the payout address.", param="reauth")
            services.settlement_rule_set_by(
                request, merchant_id=dash_of(request).merchant_id,
                threshold_wei=parse_human(d["threshold_wei"], "wei", param="threshold_wei") if d["threshold_wei"].strip() else None,
                threshold_token=parse_human(d["threshold_token"], "token", param="threshold_token") if d["threshold_token"].strip() else None,
                schedule=d["schedule"], payout_address=d["payout_address"].strip())
            messages.success(request, "Settlement rule saved.")
            return redirect("payments:dashboard:settlements")
        except PaymentsError as exc:
            form.add_error(exc.param if exc.param in form.fields else None, exc.human_message)
    return _page(request, rule_form=form, status=400)


@never_cache
@dashboard_view("settlements")
def settlement_report_view(request: HttpRequest, settlement_id: str) -> HttpResponse:
    """The settlement's itemised report as CSV: the payments, refunds and fees it covers."""
    settlement = (settlements_for_merchant(dash_of(request).merchant_id).filter(public_id=settlement_id).first()
                  if SETTLEMENT_ID.fullmatch(settlement_id) else None)
    if settlement is None:
        raise Http404("no such settlement")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_COLUMNS)
    for line in settlement_report(settlement):
        # numbers as numbers (a minus sign is no formula); text through the CSV-injection guard
        writer.writerow([str(v) if isinstance(v, int | Decimal) else _cell(v) for v in line])
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="settlement-{settlement.public_id}.csv"'
    return response
