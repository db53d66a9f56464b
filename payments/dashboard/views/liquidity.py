"""Liquidity: what the merchant can receive instantly now, per asset, and the hub's recent
collateral top-ups of its channels (payments/balances/liquidity.py)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from payments.balances.liquidity import merchant_liquidity
from payments.dashboard.money import Money
from payments.dashboard.views.base import dash_of, dashboard_view, page

STATE_LABELS = {
    "waiting_for_signature": "waiting for your channel's signature",
    "on_chain": "on its way on chain",
    "confirmed": "in your channel",
    "failed": "failed",
    "not_signed": "not signed in time",
}


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


@never_cache
@dashboard_view("balance")
def liquidity_view(request: HttpRequest) -> HttpResponse:
    figures = merchant_liquidity(dash_of(request).merchant_id)
    assets = [{**a, "instant": Money(a["instant_channel"], a["asset"]),
               "largest": Money(a["largest_instant_channel_payment"], a["asset"]),
               "in_flight_money": Money(a["in_flight"], a["asset"])} for a in figures["assets"]]
    addresses = []
    for a in figures["addresses"]:
        row = dict(a)
        if a["instant"] is not None:
            row["instant_money"] = [Money(a["instant"][asset], asset) for asset in ("wei", "token")]
            row["in_flight_money"] = [Money(a["in_flight"][asset], asset) for asset in ("wei", "token")
                                      if a["in_flight"][asset]]
        addresses.append(row)
    ttc = figures["time_to_collateral"]
    top_ups = [{"t": t, "money": Money(t.amount, t.asset), "state_label": STATE_LABELS.get(t.state, t.state),
                "took": _duration(t.seconds)} for t in figures["recent_top_ups"]]
    return page(request, "dashboard/liquidity.html", {
        "custodial_unlimited": figures["custodial_unlimited"],
        "has_channels": any(a["mode"] == "channel" for a in figures["addresses"]),
        "assets": assets, "addresses": addresses, "ttc": ttc,
        "ttc_text": {k: _duration(v) for k, v in ttc["seconds"].items()}, "top_ups": top_ups,
    })
