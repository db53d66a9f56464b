from __future__ import annotations

from django.db import models


class IdempotencyRecord(models.Model):
    """One POST under an `Idempotency-Key`, per API key: created (committed) before the work
    starts, completed with the response in the same transaction as the work's effects."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress"
        DONE = "done"

    api_key = models.ForeignKey("payments.ApiKey", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    locked_at = models.DateTimeField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_content_type = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="payments_idempotency_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key} [{self.state}]"
