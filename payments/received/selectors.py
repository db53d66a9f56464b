from __future__ import annotations

import re
from collections.abc import Iterable

from django.urls import reverse

from hub.purchases.models import Payment
from payments.received.models import ReceivedPayment

PAYMENT_ID = re.compile(r"pay_[0-9a-f]{24}")


def received_payments_by_id(payment_ids: Iterable[int]) -> dict[int, ReceivedPayment]:
    """The recorded rows of these hub payments, by payment id (a payment recorded before
    these rows existed has none)."""
    return {row.payment_id: row for row in ReceivedPayment.objects.filter(payment_id__in=list(payment_ids))}


def received_payment_by_receipt(payment_public_id: str, token: str) -> tuple[Payment, ReceivedPayment] | None:
    """For the public receipt page: the payment id and the receipt token must both match."""
    if not token or not PAYMENT_ID.fullmatch(payment_public_id):
        return None
    payment = Payment.objects.filter(public_id=payment_public_id).first()
    if payment is None:
        return None
    row = (ReceivedPayment.objects.select_related("merchant")
           .filter(payment_id=payment.pk, receipt_token=token).first())
    return (payment, row) if row is not None else None


def receipt_path(payment_public_id: str, row: ReceivedPayment | None) -> str | None:
    """The receipt page's path, or None for a payment without a receipt (none recorded)."""
    if row is None or not row.receipt_token:
        return None
    return reverse("payments:payment_receipt", args=[payment_public_id, row.receipt_token])
