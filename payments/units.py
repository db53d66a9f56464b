"""Base units → human units (amounts are ints everywhere else). The formatter itself lives in
ops/amounts.py so that every layer (the hub's admin too) shows amounts the same way; this module
keeps the names the merchant platform imports.

Exact integer arithmetic: an amount may have 78 digits (uint256), past what a Decimal context
(28 digits by default) holds without rounding or raising."""

from __future__ import annotations

from decimal import Decimal

from ops.amounts import ASSETS, DECIMALS, SYMBOLS, decimal_text, exact_amount, format_amount

__all__ = ["ASSETS", "DECIMALS", "SYMBOLS", "decimal_text", "exact_amount", "exact_decimal",
           "format_amount", "human_amount", "human_label"]


def human_amount(amount: int, asset: str) -> str:
    """`1500000000000000000, "wei"` → `"1.5"`, every digit (form values, CSV)."""
    return decimal_text(amount, DECIMALS[asset])


def exact_decimal(units: int, decimals: int) -> Decimal:
    """`units` / 10**decimals as a Decimal, without going through a context (no rounding)."""
    return Decimal(decimal_text(units, decimals, keep=decimals))


def human_label(amount: int, asset: str) -> str:
    """What a person reads ("0.122 ETH", "≈ 0.1235 ETH", "< 0.000001 ETH"): ops.amounts."""
    return format_amount(amount, asset)
