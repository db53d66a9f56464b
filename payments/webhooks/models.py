"""Webhook endpoints, deliveries (one per event and endpoint, redeliveries are new rows) and the
log of every attempt."""

from __future__ import annotations

from django.db import models

from payments.ids import new_webhook_delivery_id, new_webhook_endpoint_id


class WebhookEndpoint(models.Model):
    public_id = models.CharField(max_length=40, unique=True, default=new_webhook_endpoint_id)
    merchant = models.ForeignKey("payments.Merchant", on_delete=models.CASCADE,
                                 related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=500, blank=True, default="")
    enabled = models.BooleanField(default=True)
    # Event types delivered to this endpoint; ["*"] = all.
    event_types = models.JSONField(default=list)
    # The signing secret; during a rotation the previous one also signs until it expires.
    # Stored as is: signing needs it (the receiver holds the same value).
    secret = models.CharField(max_length=100)
    previous_secret = models.CharField(max_length=100, blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.url}"

    def wants(self, event_type: str) -> bool:
        return self.enabled and ("*" in self.event_types or event_type in self.event_types)


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        # the endpoint was disabled or deleted before the delivery succeeded: no more attempts
        CANCELLED = "cancelled"

    public_id = models.CharField(max_length=40, unique=True, default=new_webhook_delivery_id)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey("payments.Event", on_delete=models.PROTECT, related_name="deliveries")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="redeliveries")
    created_at = models.DateTimeField()  # the retry window (3 days) starts here
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="payments_whd_due_idx",
                         condition=models.Q(state="pending")),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.public_id} [{self.state}]"


# How much of a receiver's answer is kept and shown (the first characters, no more).
RESPONSE_EXCERPT_CHARS = 64


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    request_body = models.TextField()
    signature_header = models.CharField(max_length=500)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")  # an excerpt (RESPONSE_EXCERPT_CHARS)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="payments_whattempt_unique"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}: {self.response_status or self.error[:40]}"
