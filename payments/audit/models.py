"""The audit log: one append-only row per sensitive action (sign-ins, key creation and
revocation, role changes, settlements, operator admin actions). Threat W8.

Append-only twice over: the model refuses to update or delete a saved row, and a PostgreSQL
trigger (migration 0002) refuses UPDATE and DELETE from any client. Actor and merchant are plain
ids, not foreign keys, so deleting a user or merchant never has to touch the log."""

from __future__ import annotations

from typing import Any

from django.db import models


class AuditLog(models.Model):
    class Surface(models.TextChoices):
        DASHBOARD = "dashboard"
        ADMIN = "admin"
        SYSTEM = "system"
        API = "api"  # the merchant API; the actor is the key (actor_label "api_key:<id>")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    action = models.CharField(max_length=64)  # "signin.succeeded", "api_key.created", ...
    surface = models.CharField(max_length=10, choices=Surface.choices)
    actor_id = models.IntegerField(null=True, blank=True)  # auth user id (kept after deletion)
    actor_label = models.CharField(max_length=200, blank=True, default="")  # username then
    merchant_id = models.IntegerField(null=True, blank=True)
    target = models.CharField(max_length=200, blank=True, default="")  # "api_key:key_…", "user:7"
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)  # never secrets (threat W8)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["merchant_id", "-id"], name="payments_audit_merchant_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} by {self.actor_label or '-'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("audit log rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("audit log rows are append-only")
