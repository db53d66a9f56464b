"""Admin columns that show amounts with the one formatter (ops/amounts.py): "0.122 ETH" with the
exact value (and the base units) in the title, instead of raw wei."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.utils.html import format_html

from ops.amounts import ASSETS, exact_amount, format_amount


def amount_html(amount: Any, asset: str) -> str:
    if amount is None or asset not in ASSETS:
        return "—"
    units = int(amount)
    return format_html('<span title="{} = {} {}">{}</span>', exact_amount(units, asset), units, asset,
                       format_amount(units, asset))


def amount_column(field: str = "amount", *, asset_field: str = "asset", asset: str | None = None,
                  description: str = "amount") -> Callable[[Any, Any], str]:
    """A ModelAdmin method: `amount_shown = amount_column()` then "amount_shown" in list_display
    or readonly_fields. The asset comes from `asset_field` on the row, or is fixed by `asset`."""

    @admin.display(description=description, ordering=field)
    def show(self: Any, obj: Any) -> str:
        return amount_html(getattr(obj, field), asset or str(getattr(obj, asset_field, "")))

    return show
