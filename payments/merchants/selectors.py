"""Reads about merchants."""

from __future__ import annotations

from payments.merchants.models import Merchant, ReceivingAddress


def merchant_for_address(address: str) -> Merchant | None:
    """The merchant that owns receiving address `address` (any case), or None."""
    if not isinstance(address, str):
        return None
    row = (
        ReceivingAddress.objects.select_related("merchant")
        .filter(address=address.lower()).first()
    )
    return row.merchant if row else None


def merchant_addresses(merchant_id: int, *, mode: str | None = None) -> list[str]:
    """The merchant's receiving addresses (lower-case), oldest first."""
    rows = ReceivingAddress.objects.filter(merchant_id=merchant_id)
    if mode is not None:
        rows = rows.filter(mode=mode)
    return list(rows.order_by("id").values_list("address", flat=True))
