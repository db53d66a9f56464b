"""API keys: only an HMAC of the secret is stored; the full key is shown once at creation."""

from __future__ import annotations

from django.db import models

from payments.ids import new_api_key_id


class ApiKey(models.Model):
    class Kind(models.TextChoices):
        SECRET = "secret"  # sk_: every resource, read and write
        RESTRICTED = "restricted"  # rk_: the listed resources with read or write
        READ_ONLY = "read_only"  # rk_: every resource, read only

    public_id = models.CharField(max_length=40, unique=True, default=new_api_key_id)
    merchant = models.ForeignKey("payments.Merchant", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True, default="")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # resource -> "read" | "write"; used for restricted keys only.
    permissions = models.JSONField(default=dict, blank=True)
    prefix = models.CharField(max_length=16, unique=True)  # the key's public, listable part
    secret_hash = models.CharField(max_length=64)  # hex HMAC-SHA256(pepper, secret)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # set when rolled with an overlap
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rolled_from = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="rolled_to")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.display_prefix}… ({self.kind})"

    @property
    def display_prefix(self) -> str:
        scheme = "sk" if self.kind == self.Kind.SECRET else "rk"
        return f"{scheme}_live_{self.prefix}"
