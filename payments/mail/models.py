"""Outgoing email: one row per message, written in the transaction that caused it (the outbox);
the `send_email` actor sends it once and stamps `sent_at`."""

from __future__ import annotations

from django.db import models


class OutgoingEmail(models.Model):
    key = models.CharField(max_length=120, unique=True)  # what it is about: at most one mail per key
    merchant = models.ForeignKey("payments.Merchant", on_delete=models.PROTECT, related_name="emails")
    to = models.JSONField(default=list)  # addresses
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["created_at"], name="payments_mail_unsent_idx",
                                condition=models.Q(sent_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.key} → {', '.join(self.to)}"
