"""Recording what a merchant received (called by the "payments settled" listener)."""

from __future__ import annotations

import secrets

from hub.purchases.models import Payment
from payments import conf, fiat
from payments.received.models import ReceivedPayment


def received_payment_record(*, merchant_id: int, payment: Payment) -> ReceivedPayment:
    """The payment's row with its fiat value at the time it was paid, in the books currency
    (empty fiat columns when no rate was known then) and its receipt page's secret. Idempotent
    on the payment."""
    asset = "token" if int(payment.amount_token or 0) > 0 else "wei"
    amount = int(payment.amount_token if asset == "token" else payment.amount_wei)
    paid_at = payment.completed_at or payment.created_at
    row, _ = ReceivedPayment.objects.get_or_create(
        payment_id=payment.pk,
        defaults={"merchant_id": merchant_id, "amount": amount, "asset": asset, "paid_at": paid_at,
                  "receipt_token": secrets.token_urlsafe(24),
                  **fiat.record_fields(amount, asset, at=paid_at, currency=conf.FIAT_BOOKS_CURRENCY)})
    return row
