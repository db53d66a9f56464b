"""Link payments: an amount the hub holds until someone shows the link's secret.

Only the SHA-256 of the secret is stored (`secret_hash`); lookups go by that hash. A link moves
OPEN → REDEEMING (a redeemer showed the secret; the payout is waiting for collateral or for its
on-chain transaction) → REDEEMED, or OPEN → CANCELLED | EXPIRED (returned to the sender). Every
move is a conditional update of the status, so each happens exactly once."""

from __future__ import annotations

import secrets

from django.db import models

from hub.chain.fields import AmountField
from hub.ledger import accounts


def new_link_id() -> str:
    return "lnk_" + secrets.token_hex(12)


class Link(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        REDEEMING = "redeeming"  # claimed; payout pending (collateral or on-chain transaction)
        REDEEMED = "redeemed"
        CANCELLED = "cancelled"  # returned to the sender at the sender's request
        EXPIRED = "expired"  # returned to the sender after its expiry

    class Funding(models.TextChoices):
        CHANNEL = "channel"  # a PT_LINK payment out of the sender's channel
        CUSTODIAL = "custodial"  # a merchant's custodial balance

    class Payout(models.TextChoices):
        CHANNEL = "channel"  # a hub→redeemer Payment in the redeemer's channel
        ONCHAIN = "onchain"  # a transfer from the hub's wallet to an address

    class Asset(models.TextChoices):
        WEI = "wei"
        TOKEN = "token"

    OPEN_STATES = (Status.OPEN, Status.REDEEMING)

    public_id = models.CharField(max_length=40, unique=True, default=new_link_id)
    secret_hash = models.CharField(max_length=64, unique=True)  # sha256 hex of the secret
    funding = models.CharField(max_length=10, choices=Funding.choices)
    sender = models.CharField(max_length=42, db_index=True)  # lower-case address
    merchant = models.ForeignKey("payments.Merchant", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="links")
    payment = models.OneToOneField("purchases.Payment", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="link")
    # custodial funding: {address: amount} debited, so a return credits the same accounts
    debits = models.JSONField(default=dict, blank=True)
    asset = models.CharField(max_length=8, choices=Asset.choices)
    amount = AmountField()
    note = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    expires_at = models.DateTimeField(db_index=True)

    redeemer = models.CharField(max_length=42, blank=True, default="")
    payout = models.CharField(max_length=8, choices=Payout.choices, blank=True, default="")
    redemption_update = models.ForeignKey("hub.ChannelUpdate", null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="+")
    chain_transaction = models.ForeignKey("hub.ChainTransaction", null=True, blank=True,
                                          on_delete=models.PROTECT, related_name="+")
    claim_attempts = models.PositiveIntegerField(default=0)  # on-chain payouts tried (idempotency)
    # how an unredeemed link went back: "channel" (hub→sender Payment) or "custodial"
    returned_to = models.CharField(max_length=10, blank=True, default="")
    return_update = models.ForeignKey("hub.ChannelUpdate", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="linkpay_status_expiry_idx"),
            models.Index(fields=["merchant", "-id"], name="linkpay_merchant_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="linkpay_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount} {self.asset} ({self.status})"

    @property
    def ledger_account(self) -> str:
        return accounts.link(self.public_id)

    @property
    def amount_wei(self) -> int:
        return self.amount if self.asset == self.Asset.WEI else 0

    @property
    def amount_token(self) -> int:
        return self.amount if self.asset == self.Asset.TOKEN else 0
