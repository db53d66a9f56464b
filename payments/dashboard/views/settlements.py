"""Settlements: history, request one now, the automatic rule."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from payments.balances.selectors import custodial_balance
from payments.dashboard import forms, services
from payments.dashboard.money import Money, parse_human
from payments.dashboard.once import once_only
from payments.dashboard.views.base import dash_of, dashboard_view, page, paginate
from payments.errors import PaymentsError
from payments.merchants.services import normalize_address
from payments.settlements.selectors import settlements_for_merchant
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
    page_obj, query = paginate(request, settlements_for_merchant(dash.merchant_id))
    for s in page_obj:
        s.money = Money(int(s.amount), s.asset)
    return page(request, "dashboard/settlements.html", {
        "page_obj": page_obj, "query": query,
        "available": [Money(custodial_balance(dash.merchant_id, a), a) for a in ASSETS],
        "request_form": request_form or forms.SettlementRequestForm(),
        "rule_form": rule_form or forms.SettlementRuleForm(initial=_rule_initial(dash.merchant)),
    }, status=status)


@never_cache
@dashboard_view("settlements")
def settlements_view(request: HttpRequest) -> HttpResponse:
    return _page(request)


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
