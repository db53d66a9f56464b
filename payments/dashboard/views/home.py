"""Home (balances, volume, chart, latest payments) and the live-update polling endpoint."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from payments.balances.selectors import merchant_balance
from payments.dashboard.money import Money, fiat_label, rate_at
from payments.dashboard.selectors import (
    events_after,
    payment_money,
    payments_for_merchant,
    volume_overview,
)
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
    windows, bars = volume_overview(dash.merchant_id)
    latest = list(payments_for_merchant(dash.merchant_id)[:10]) if dash.can("payments") else []
    for p in latest:
        p.money = payment_money(p)  # type: ignore[attr-defined]
    return page(request, "dashboard/home.html", {
        "cards": cards, "windows": windows, "bars": bars,
        "chart_max": fiat_label(max((b.fiat for b in bars), default=None)),
        "latest": latest, "show_latest": dash.can("payments"), "rate": rate, "rate_time": rate_time,
    })


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
        "events": [{"type": "event", "event": e.as_payload()} for e in events],
        "cursor": events[-1].pk if events else after,
    })
