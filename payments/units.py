"""Base units → human units, for display only (amounts are ints everywhere else)."""

from __future__ import annotations

from decimal import Decimal

DECIMALS = {"wei": 18, "token": 18}
SYMBOLS = {"wei": "ETH", "token": "SPD"}
ASSETS = ("wei", "token")


def human_amount(amount: int, asset: str) -> str:
    """`1500000000000000000, "wei"` → `"1.5"` (no float on the way)."""
    value = Decimal(amount).scaleb(-DECIMALS[asset])
    text = format(value.normalize(), "f") if value else "0"
    return text


def human_label(amount: int, asset: str) -> str:
    return f"{human_amount(amount, asset)} {SYMBOLS[asset]}"
