"""Refunds: a payment from the merchant's balance back to the payer: off-chain into the payer's
channel (or a link), or, for a payment made on chain through the Checkout contract (PT_CHECKOUT),
on chain to the refund destination its intent named. `payments.refunds.execution` moves the
money; this records the request and its outcome."""

from __future__ import annotations

from django.db import models

from hub.chain.fields import AmountField
from payments.fiat import FiatRecord
from payments.ids import new_refund_id


class Refund(FiatRecord):
    class State(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    class Reason(models.TextChoices):
        REQUESTED_BY_CUSTOMER = "requested_by_customer"
        DUPLICATE = "duplicate"
        FRAUDULENT = "fraudulent"
        OTHER = "other"
        EXCESS_PAYMENT = "excess_payment"  # POST /invoices/{id}/refund_excess

    public_id = models.CharField(max_length=40, unique=True, default=new_refund_id)
    merchant = models.ForeignKey("payments.Merchant", on_delete=models.PROTECT, related_name="refunds")
    payment_id = models.BigIntegerField(db_index=True)  # hub.purchases Payment id
    recipient = models.CharField(max_length=42)  # the payer, or a checkout's refund destination (lower-case)
    amount = AmountField()
    asset = models.CharField(max_length=8, choices=[("wei", "wei"), ("token", "token")])
    reason = models.CharField(max_length=24, choices=Reason.choices, default=Reason.REQUESTED_BY_CUSTOMER)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    metadata = models.JSONField(default=dict, blank=True)
    failure_reason = models.TextField(blank=True, default="")
    refund_payment_id = models.BigIntegerField(null=True, blank=True)  # the payment back, when made
    invoice = models.ForeignKey("payments.Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="refunds")  # set for refunds of an invoice's excess
    # the on-chain payment back (refunds of on-chain checkout payments), once queued
    chain_transaction = models.OneToOneField("hub.ChainTransaction", null=True, blank=True,
                                             on_delete=models.PROTECT, related_name="refund")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["merchant", "-id"], name="payments_refund_merchant_idx")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount} {self.asset} [{self.state}]"
