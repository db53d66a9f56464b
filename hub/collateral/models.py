"""Collateral profiles set by operators: a profile replaces the automatic policy for the users
assigned to it (one profile may serve a whole group of users)."""

from __future__ import annotations

from django.db import models

from hub.chain.fields import AmountField


class CollateralProfile(models.Model):
    name = models.CharField(max_length=100, unique=True)
    minimum_maintained_token = AmountField(help_text="top up when the hub holds less than this")
    amount_to_collateralize_token = AmountField(help_text="top up to this many tokens")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_to_collateralize_token__gte=models.F("minimum_maintained_token")),
                name="hub_collateralprofile_target_above_minimum",
            )
        ]

    def __str__(self) -> str:
        return self.name


class CollateralAssignment(models.Model):
    user = models.CharField(max_length=42, unique=True)
    profile = models.ForeignKey(CollateralProfile, on_delete=models.CASCADE, related_name="assignments")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} → {self.profile}"
