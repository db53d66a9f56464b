"""Dashboard sign-in state: TOTP second factors and each merchant's two-factor policy."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models


class TotpDevice(models.Model):
    """A confirmed authenticator app of one user (RFC 6238, 30 s steps, 6 digits)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="totp_device")
    # Base32 seed. Verifying a code needs the seed itself, so it cannot be stored hashed.
    secret = models.CharField(max_length=64)
    # The highest time step whose code was accepted: a code (and any older one) is single-use
    # (ASVS 2.8.4, threat W5).
    last_used_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"authenticator of {self.user}"


class MerchantSecurity(models.Model):
    """Per-merchant sign-in policy, set by an owner."""

    merchant = models.OneToOneField("payments.Merchant", on_delete=models.CASCADE,
                                    related_name="security")
    # Every member must sign in with a second factor (members without one enrol at sign-in).
    totp_required = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "merchant security policies"

    def __str__(self) -> str:
        return f"security of {self.merchant}"


class TeamInvitation(models.Model):
    """An owner's invitation to join a merchant's team. Nobody becomes a member without accepting:
    the invitee opens the link (signed in, or creating an account) and accepts. Only a hash of
    the link's token is stored; the token works once, until it expires or is revoked."""

    merchant = models.ForeignKey("payments.Merchant", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=8)  # Membership.Role
    token_hash = models.CharField(max_length=64, unique=True)  # sha256 hex of the link token
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "-id"], name="payments_invite_merchant_idx")]

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.merchant_id}"

    def is_open(self, now: Any) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > now


class VolumeBucket(models.Model):
    """The overview's rollup: completed payments to one receiving address in one quarter hour
    (UTC; every time zone's midnight falls on a quarter hour), summed in the units the overview
    adds up. It holds the payments up to the fold's watermark (VolumeFold), added in batches by
    `payments.dashboard.volume.volume_fold` (a job, every few seconds) off the payments' own
    transactions; from then on the database's triggers on the payments and the exchange rates
    (migrations 0014, 0015) apply every change to a folded payment or to a rate in the same
    statement as the write. Readers add the payments after the watermark (the tail) from the
    payments themselves, so rollup + tail is always the sum of the rows it stands for;
    `payments.dashboard.volume` rebuilds and checks it. `shard` spreads one busy address's
    quarter hour over a few rows so concurrent writers rarely wait on one row."""

    recipient = models.CharField(max_length=42)
    bucket = models.DateTimeField()  # start of the quarter hour
    shard = models.SmallIntegerField(default=0)
    payments = models.BigIntegerField(default=0)
    wei = models.DecimalField(max_digits=100, decimal_places=0, default=0)
    token = models.DecimalField(max_digits=100, decimal_places=0, default=0)
    token_cents = models.DecimalField(max_digits=100, decimal_places=0, default=0)
    wei_cents = models.DecimalField(max_digits=100, decimal_places=0, default=0)  # at each payment's rate

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recipient", "bucket", "shard"],
                                               name="payments_volume_bucket_key")]

    def __str__(self) -> str:
        return f"{self.recipient} {self.bucket:%Y-%m-%d %H:%M}"


class VolumeFold(models.Model):
    """The rollup's watermark (one row, id 1): the payments with ids up to `upto` are in
    VolumeBucket; those after it are read from the payments table (payments/dashboard/volume.py)."""

    upto = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"rollup folded up to payment {self.upto}"
