"""Published proof-of-liabilities roots and their leaves.

A root is the hub's signed commitment to everything it owes at one moment (hub/core/liabilities.py
has the tree and the commitment); beside it, the hub's assets as the chain showed them then. The
leaves are kept so each account can be given its inclusion proof later; a leaf's salt is random
per root and is only ever shown to that account. Rows are never changed after they are written."""

from __future__ import annotations

from django.db import models

from hub.chain.fields import AmountField


class LiabilityRoot(models.Model):
    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        OPERATOR = "operator"

    sequence = models.PositiveBigIntegerField(unique=True)
    issued_at = models.DateTimeField()
    hub_address = models.CharField(max_length=42)
    # {asset: {"root": "0x…", "total": "<decimal>", "leaves": n}}
    roots = models.JSONField()
    commitment = models.CharField(max_length=66, unique=True)
    signature = models.CharField(max_length=132)
    # {asset: {"contract": "<decimal>", "hubAccount": "<decimal>"}} at `reserves_block`, or {}
    reserves = models.JSONField(default=dict, blank=True)
    reserves_block = models.PositiveBigIntegerField(null=True, blank=True)
    reserves_error = models.TextField(blank=True, default="")
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    requested_by = models.CharField(max_length=150, blank=True, default="")
    anchor = models.ForeignKey("hub.ChainTransaction", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sequence"]

    def __str__(self) -> str:
        return f"liabilities root #{self.sequence}"


class LiabilityLeaf(models.Model):
    root = models.ForeignKey(LiabilityRoot, on_delete=models.PROTECT, related_name="leaves")
    asset = models.CharField(max_length=8)
    position = models.PositiveIntegerField()  # index among the asset tree's leaves (hash order)
    account = models.CharField(max_length=120)
    amount = AmountField()
    salt = models.BinaryField(max_length=32)
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["root", "asset", "position"],
                                               name="hub_liabilityleaf_position")]
        indexes = [models.Index(fields=["root", "account"])]

    def __str__(self) -> str:
        return f"{self.account} {self.asset} in root {self.root_id}"
