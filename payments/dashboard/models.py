"""Dashboard sign-in state: TOTP second factors and each merchant's two-factor policy."""

from __future__ import annotations

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
