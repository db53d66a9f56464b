"""The hub payments a merchant received, with their fiat value at the time they were paid.

One row per completed hub payment (`hub.purchases.Payment`) whose recipient is one of the
merchant's receiving addresses, written by the "payments settled" listener in the transaction
that completed the payment, invoice or not; its fiat columns are in the books currency
(`SPOKE_FIAT_BOOKS_CURRENCY`), like refunds and settlements, so that a settlement report reads
every line in one currency. (A payment towards an invoice also has its `InvoicePayment`, valued
in the invoice's currency.) Append-only."""

from __future__ import annotations

from django.db import models

from hub.chain.fields import AmountField
from payments.fiat import FiatRecord


class ReceivedPayment(FiatRecord):
    merchant = models.ForeignKey("payments.Merchant", on_delete=models.PROTECT, related_name="received_payments")
    payment_id = models.BigIntegerField(unique=True)  # hub.purchases Payment id
    amount = AmountField()
    asset = models.CharField(max_length=8, choices=[("wei", "wei"), ("token", "token")])
    paid_at = models.DateTimeField()
    # the public receipt page's secret (/receipts/payments/<pay id>/<token>); empty for rows
    # recorded before receipts existed
    receipt_token = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"payment {self.payment_id}: {self.amount} {self.asset}"
