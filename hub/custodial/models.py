"""Custodial withdrawals: a recipient's custodial balance paid out on-chain by the hub."""

from __future__ import annotations

from django.db import models

from hub.chain.fields import AmountField


class CustodialWithdrawal(models.Model):
    class Asset(models.TextChoices):
        ETH = "eth"  # token balance paid as ETH at the hub's rate (the Connext default)
        TOKEN = "token"

    class State(models.TextChoices):
        PENDING = "pending"
        CONFIRMED = "confirmed"
        FAILED = "failed"

    user = models.CharField(max_length=42, db_index=True)
    recipient = models.CharField(max_length=42)
    requested_token = AmountField(default=0)
    requested_wei = AmountField(default=0)
    payout_asset = models.CharField(max_length=8, choices=Asset.choices, default=Asset.ETH)
    exchange_rate = models.CharField(max_length=40, blank=True, default="")
    sent_wei = AmountField(default=0)
    sent_token = AmountField(default=0)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    chain_transaction = models.ForeignKey("hub.ChainTransaction", null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"custodial withdrawal {self.pk} of {self.user}"
