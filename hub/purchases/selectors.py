"""Reads of payments for the rest of the merchant platform."""

from __future__ import annotations

import re

from django.db.models import OuterRef, Subquery

from hub.purchases.models import Payment


def payment_public_id_of(column: str = "payment_id") -> Subquery:
    """Annotation: the public id of the payment whose primary key is in `column` (refunds and
    invoice payments keep the internal key)."""
    return Subquery(Payment.objects.filter(pk=OuterRef(column)).values("public_id")[:1])


def payment_public_id(pk: int | None) -> str | None:
    if pk is None:
        return None
    return Payment.objects.filter(pk=pk).values_list("public_id", flat=True).first()


def payment_pk(public_id: object) -> int | None:
    """The internal key of the payment with this public id, or None."""
    if not isinstance(public_id, str) or not re.fullmatch(r"pay_[0-9a-f]{24}", public_id):
        return None
    return Payment.objects.filter(public_id=public_id).values_list("pk", flat=True).first()


def payment_public_ids(pks: list[int]) -> list[str]:
    """The public ids of these payments, in the order given."""
    found = dict(Payment.objects.filter(pk__in=pks).values_list("pk", "public_id"))
    return [found[pk] for pk in pks if pk in found]


def refund_execution(refund_public_id: str) -> tuple[str, str] | None:
    """(method, link public id or "") of how a refund was paid back, or None if not yet."""
    from hub.purchases.models import RefundExecution

    row = (RefundExecution.objects.filter(refund_public_id=refund_public_id)
           .values_list("method", "link_public_id").first())
    return (str(row[0]), str(row[1])) if row else None
