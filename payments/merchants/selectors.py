"""Reads about merchants."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection

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


def merchant_ids_for_addresses(addresses: Iterable[str]) -> dict[str, int]:
    """{address: merchant id} for those of `addresses` (lower-case) that a merchant owns. On
    every payment's path, so one plain SQL statement rather than an ORM query compiled per call."""
    wanted = sorted({a for a in addresses if isinstance(a, str)})
    if not wanted:
        return {}
    table = connection.ops.quote_name(ReceivingAddress._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT address, merchant_id FROM {table} WHERE address = ANY(%s)",  # noqa: S608
                       [wanted])
        return dict(cursor.fetchall())


def merchant_id_sql() -> str:
    """`merchant_ids_for_addresses` for one address as an SQL expression over `c."user"` (the
    purchase reads it with its lock: hub/purchases/listeners.py)."""
    qn = connection.ops.quote_name
    table = qn(ReceivingAddress._meta.db_table)
    return f'(SELECT r.merchant_id FROM {table} r WHERE r.address = c.{qn("user")})'  # noqa: S608


def merchant_addresses(merchant_id: int, *, mode: str | None = None) -> list[str]:
    """The merchant's receiving addresses (lower-case), oldest first."""
    rows = ReceivingAddress.objects.filter(merchant_id=merchant_id)
    if mode is not None:
        rows = rows.filter(mode=mode)
    return list(rows.order_by("id").values_list("address", flat=True))
