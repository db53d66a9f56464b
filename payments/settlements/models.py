"""Settlements: a merchant's custodial balance paid out on-chain to its payout address."""

from __future__ import annotations

from django.db import models

from hub.chain.fields import AmountField
from hub.ledger import accounts
from payments.fiat import FiatRecord
from payments.ids import new_settlement_id


class Settlement(FiatRecord):
    class State(models.TextChoices):
        PENDING = "pending"  # recorded, ledger debited, transaction queued
        SUBMITTED = "submitted"  # the transaction is broadcast
        PAID = "paid"  # confirmed on-chain
        FAILED = "failed"  # the transaction failed; the amount went back to custodial

    OPEN_STATES = (State.PENDING, State.SUBMITTED)

    public_id = models.CharField(max_length=40, unique=True, default=new_settlement_id)
    merchant = models.ForeignKey("payments.Merchant", on_delete=models.PROTECT, related_name="settlements")
    asset = models.CharField(max_length=8, choices=[("wei", "wei"), ("token", "token")])
    amount = AmountField()
    payout_address = models.CharField(max_length=42)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    automatic = models.BooleanField(default=False)
    # address -> amount debited from `custodial:<address>` (returned there if the payout fails)
    debits = models.JSONField(default=dict)
    chain_transaction = models.OneToOneField("hub.ChainTransaction", null=True, blank=True,
                                             on_delete=models.PROTECT, related_name="settlement")
    failure_reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["merchant", "-id"], name="payments_settlement_merch_idx")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount} {self.asset} [{self.state}]"

    @property
    def ledger_account(self) -> str:
        return accounts.settlement(self.public_id)
