"""Merchants are teams: members with roles, receiving addresses and a settlement rule."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from hub.chain.fields import AmountField
from payments.merchants import permissions


class Merchant(models.Model):
    class SettlementSchedule(models.TextChoices):
        NONE = "none"
        DAILY = "daily"
        WEEKLY = "weekly"

    name = models.CharField(max_length=200)
    # Where settlements pay out on-chain (lower-case 0x address); settlements need one.
    payout_address = models.CharField(max_length=42, blank=True, default="")
    # Automatic settlement: when the custodial balance of an asset reaches its threshold, and/or
    # on a schedule. Null threshold = no threshold rule for that asset.
    settlement_threshold_wei = AmountField(null=True, blank=True)
    settlement_threshold_token = AmountField(null=True, blank=True)
    settlement_schedule = models.CharField(
        max_length=8, choices=SettlementSchedule.choices, default=SettlementSchedule.NONE
    )
    last_scheduled_settlement_at = models.DateTimeField(null=True, blank=True)
    # The IANA zone the dashboard shows this team's times and days in (validated against
    # zoneinfo when set).
    time_zone = models.CharField(max_length=64, default="UTC")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    def settlement_threshold(self, asset: str) -> int | None:
        return self.settlement_threshold_wei if asset == "wei" else self.settlement_threshold_token


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = permissions.OWNER
        MANAGER = permissions.MANAGER
        STAFF = permissions.STAFF

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="merchant_memberships")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "merchant"], name="payments_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.merchant}"

    def allows(self, resource: str, access: permissions.Access) -> bool:
        return permissions.role_allows(self.role, resource, access)


class ReceivingAddress(models.Model):
    class Mode(models.TextChoices):
        CUSTODIAL = "custodial"  # payments land in the hub-held custodial balance
        CHANNEL = "channel"  # payments land in the merchant's own channel (runs the SDK)

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="addresses")
    address = models.CharField(max_length=42, unique=True)  # lower-case 0x address
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.CUSTODIAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "receiving addresses"  # Django's default adds an "s": "addresss"
        constraints = [
            models.CheckConstraint(condition=models.Q(address=Lower("address")),
                                   name="payments_receivingaddress_lower"),
        ]

    def __str__(self) -> str:
        return f"{self.address} ({self.mode})"
