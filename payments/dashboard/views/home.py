"""Home (balances, volume, chart, latest payments) and the live-update polling endpoint."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from payments.balances.selectors import merchant_balance
from payments.dashboard import forms
from payments.dashboard.money import Money, fiat_label, rate_at
from payments.dashboard.overview import (
    DEFAULT_DAYS,
    PRESETS,
    Period,
    onboarding_steps,
    overview,
    preset_period,
    today_in_zone,
)
from payments.dashboard.selectors import events_after, payment_money, payments_for_merchant
from payments.dashboard.toasts import toast_for
from payments.dashboard.views.base import dash_of, dashboard_view, page
from payments.units import ASSETS

BALANCE_KINDS = (("custodial", "Custodial", "Held by the hub for you; settle it on-chain any time"),
                 ("channel", "In your channels", "Your side of your own payment channels"),
                 ("pending_settlement", "Pending settlement", "On its way to your payout address"))


@never_cache
@dashboard_view("balance")
def home_view(request: HttpRequest) -> HttpResponse:
    dash = dash_of(request)
    rate, rate_time = rate_at(timezone.now())
    balances = merchant_balance(dash.merchant_id)
    cards = []
    for key, label, help_text in BALANCE_KINDS:
        amounts = [Money(balances[key][a], a, rate, rate_time) for a in ASSETS]
        total = sum((m.fiat for m in amounts if m.fiat is not None), Decimal(0))
        cards.append({"key": key, "label": label, "help": help_text, "amounts": amounts,
                      "fiat": fiat_label(total) if rate is not None else "—"})
    form = forms.OverviewRangeForm(request.GET or None)
    period = preset_period(DEFAULT_DAYS, today_in_zone())
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        if d["range"] == "custom":
            period = Period(d["start"], d["end"], "custom")
        elif d["range"]:
            period = preset_period(int(d["range"]), today_in_zone())
    comparison, chart = overview(dash.merchant_id, period)
    latest = list(payments_for_merchant(dash.merchant_id)[:10]) if dash.can("payments") else []
    for p in latest:
        p.money = payment_money(p)  # type: ignore[attr-defined]
    steps = onboarding_steps(dash.merchant_id, dash.merchant.payout_address)
    return page(request, "dashboard/home.html", {
        "cards": cards, "form": form, "period": period, "comparison": comparison, "chart": chart,
        "presets": [(str(n), _("%(days)s days") % {"days": n}) for n in PRESETS],
        "steps": steps if not all(s.done for s in steps) else [],
        "steps_done": sum(1 for s in steps if s.done),
        "latest": latest, "show_latest": dash.can("payments"), "rate": rate, "rate_time": rate_time,
    }, status=400 if form.is_bound and form.errors else 200)


@never_cache
@dashboard_view()
def events_view(request: HttpRequest) -> JsonResponse:
    """The polling fallback of the live updates: the merchant's events after `after` (an event
    row id), oldest first, and the cursor to ask with next. Polling is not activity: an open tab
    left alone still reaches the idle timeout."""
    request.session_passive = True  # type: ignore[attr-defined]
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    events = events_after(dash_of(request).merchant_id, after)
    return JsonResponse({
        "events": [{"type": "event", "event": e.as_payload(), "toast": toast_for(e.type, e.data)}
                   for e in events],
        "cursor": events[-1].pk if events else after,
    })
