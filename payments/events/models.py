"""Domain events: immutable records of what happened to a merchant's objects."""

from __future__ import annotations

from typing import Any

from django.db import models

from payments.ids import new_event_id


class Event(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=new_event_id)
    type = models.CharField(max_length=64)
    merchant = models.ForeignKey("payments.Merchant", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="events")
    data = models.JSONField()
    # Callers that may record the same fact twice (a retried job) pass a key: one event per key.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The envelope version the event was recorded with (payments.events.catalogue.API_VERSION)
    api_version = models.CharField(max_length=20, default="")
    # The API or dashboard request that caused it; null for what happened on its own.
    request_id = models.CharField(max_length=40, blank=True, default="")
    request_idempotency_key = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["merchant", "-id"], name="payments_event_merchant_idx")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("events are immutable")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("events are immutable")

    def as_payload(self) -> dict[str, Any]:
        """The envelope an event is delivered and listed as (the same for every type)."""
        return {
            "id": self.public_id, "object": "event", "type": self.type,
            "created": int(self.created_at.timestamp()), "api_version": self.api_version,
            "data": self.data,
            "request": {"id": self.request_id or None,
                        "idempotency_key": self.request_idempotency_key or None},
        }
