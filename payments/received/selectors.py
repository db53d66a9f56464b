from __future__ import annotations

from collections.abc import Iterable

from payments.received.models import ReceivedPayment


def received_payments_by_id(payment_ids: Iterable[int]) -> dict[int, ReceivedPayment]:
    """The recorded rows of these hub payments, by payment id (a payment recorded before
    these rows existed has none)."""
    return {row.payment_id: row for row in ReceivedPayment.objects.filter(payment_id__in=list(payment_ids))}
