"""Base units → human units, for display only (amounts are ints everywhere else).

Exact integer arithmetic: an amount may have 78 digits (uint256), past what a Decimal context
(28 digits by default) holds without rounding or raising."""

from __future__ import annotations

from decimal import Decimal

DECIMALS = {"wei": 18, "token": 18}
SYMBOLS = {"wei": "ETH", "token": "SPD"}
ASSETS = ("wei", "token")


def human_amount(amount: int, asset: str) -> str:
    """`1500000000000000000, "wei"` → `"1.5"` (no float on the way)."""
    return decimal_text(amount, DECIMALS[asset])


def decimal_text(units: int, decimals: int, *, keep: int = 0) -> str:
    """`units` / 10**decimals written out exactly, trailing zeros dropped down to `keep`
    decimals: `decimal_text(150, 2)` → `"1.5"`, `decimal_text(150, 2, keep=2)` → `"1.50"`."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**decimals)
    digits = str(fraction).rjust(decimals, "0") if decimals else ""
    digits = digits.rstrip("0").ljust(keep, "0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def exact_decimal(units: int, decimals: int) -> Decimal:
    """`units` / 10**decimals as a Decimal, without going through a context (no rounding)."""
    return Decimal(decimal_text(units, decimals, keep=decimals))


def human_label(amount: int, asset: str) -> str:
    return f"{human_amount(amount, asset)} {SYMBOLS[asset]}"
