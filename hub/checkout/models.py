"""Checkout payments: `CheckoutPaid` events of the Checkout contract, as the hub records them."""

from __future__ import annotations

from django.db import models

from hub.chain.fields import AmountField


class CheckoutPayment(models.Model):
    """One confirmed on-chain payment of an operator-signed intent (append-only)."""

    chain_event = models.OneToOneField("hub.ChainEvent", on_delete=models.PROTECT,
                                       related_name="checkout_payment")
    invoice_ref = models.CharField(max_length=32)  # the intent's invoice id (ASCII)
    recipient = models.CharField(max_length=42)  # lower-case 0x address
    payer = models.CharField(max_length=42)
    refund_destination = models.CharField(max_length=42)
    asset = models.CharField(max_length=8)  # "wei" or "token"
    amount = AmountField()
    intent_digest = models.CharField(max_length=66, unique=True)
    tx_hash = models.CharField(max_length=66)
    block_number = models.PositiveBigIntegerField()
    paid_at = models.DateTimeField()  # the block's time
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"checkout {self.invoice_ref}: {self.amount} {self.asset} from {self.payer}"
