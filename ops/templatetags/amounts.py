"""`{% load amounts %}`: the amount formatter (ops/amounts.py) in templates, the admin's too.

    {{ payment.amount_wei|amount:"wei" }}     → 0.122 ETH   (rounded past 6 decimals, marked ≈)
    {{ payment.amount_wei|exact_amount:"wei" }} → 0.1220000000000003 ETH
    {{ total_usd|fiat }}                      → $24.40, < $0.01, —
"""

from __future__ import annotations

from typing import Any

from django import template

from ops import amounts

register = template.Library()


@register.filter
def amount(value: Any, asset: str) -> str:
    try:
        return amounts.format_amount(int(value), asset)
    except (TypeError, ValueError, KeyError):
        return "—"


@register.filter
def exact_amount(value: Any, asset: str) -> str:
    try:
        return amounts.exact_amount(int(value), asset)
    except (TypeError, ValueError, KeyError):
        return "—"


@register.filter
def fiat(value: Any) -> str:
    return amounts.format_fiat(amounts.as_fraction(value))
