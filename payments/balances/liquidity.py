"""What a merchant can receive instantly, per asset, and how the hub has been collateralizing
its channels lately.

- A custodial-mode address receives any amount at once: the hub credits the merchant's
  custodial balance (a liability the hub owes; no collateral involved).
- A channel-mode address receives at once up to what the hub holds in its channel (the hub pays
  the merchant's side from its own). Above that, a payment waits for a top-up; the history shows
  how long those have taken (time-to-collateral)."""

from __future__ import annotations

from typing import Any

from hub.collateral.liquidity import channels_liquidity, recent_top_ups, time_to_collateral
from payments.merchants.models import ReceivingAddress
from payments.units import ASSETS


def merchant_liquidity(merchant_id: int) -> dict[str, Any]:
    addresses = list(ReceivingAddress.objects.filter(merchant_id=merchant_id).order_by("id")
                     .values_list("address", "mode"))
    channel_users = [a for a, mode in addresses if mode == ReceivingAddress.Mode.CHANNEL]
    figures = channels_liquidity(channel_users) if channel_users else {}
    per_address = []
    instant = dict.fromkeys(ASSETS, 0)
    largest = dict.fromkeys(ASSETS, 0)
    in_flight = dict.fromkeys(ASSETS, 0)
    for address, mode in addresses:
        if mode == ReceivingAddress.Mode.CUSTODIAL:
            per_address.append({"address": address, "mode": mode, "unlimited": True, "channel_status": None,
                                "instant": None, "in_flight": None})
            continue
        row = figures.get(address)
        open_ = row is not None and row.status == "open"
        now = {"wei": row.hub_wei if open_ and row else 0, "token": row.hub_token if open_ and row else 0}
        flight = {"wei": row.in_flight_wei if row else 0, "token": row.in_flight_token if row else 0}
        for asset in ASSETS:
            instant[asset] += now[asset]
            largest[asset] = max(largest[asset], now[asset])
            in_flight[asset] += flight[asset]
        per_address.append({"address": address, "mode": mode, "unlimited": False,
                            "channel_status": row.status if row else None, "instant": now, "in_flight": flight})
    return {
        "custodial_unlimited": any(mode == ReceivingAddress.Mode.CUSTODIAL for _a, mode in addresses),
        "assets": [{"asset": asset, "instant_channel": instant[asset],
                    "largest_instant_channel_payment": largest[asset], "in_flight": in_flight[asset]}
                   for asset in ASSETS],
        "addresses": per_address,
        "time_to_collateral": time_to_collateral(users=channel_users),
        "recent_top_ups": recent_top_ups(channel_users),
    }
