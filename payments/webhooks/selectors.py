from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from payments.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoints_for_merchant(merchant_id: int) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(merchant_id=merchant_id).order_by("-id")


def deliveries_for_merchant(merchant_id: int, *, endpoint_id: str | None = None,
                            status: str | None = None) -> QuerySet[WebhookDelivery]:
    rows = (
        WebhookDelivery.objects.filter(endpoint__merchant_id=merchant_id)
        .select_related("endpoint", "event", "redelivery_of").prefetch_related("attempts")
    )
    if endpoint_id is not None:
        rows = rows.filter(endpoint__public_id=endpoint_id)
    if status:
        rows = rows.filter(state=status)
    return rows.order_by("-id")


def delivery_health(*, window_seconds: int = 3600) -> dict[str, Any]:
    """Platform-wide webhook delivery health, for the status page: attempts in the last
    `window_seconds` and how many a receiver accepted (2xx), and the backlog of deliveries
    still pending (how many, how many are due now, and how long the oldest due one waits)."""
    now = timezone.now()
    attempts = WebhookAttempt.objects.filter(started_at__gte=now - timedelta(seconds=window_seconds))
    counts = attempts.aggregate(
        total=Count("id"),
        succeeded=Count("id", filter=Q(response_status__gte=200, response_status__lt=300)))
    pending = WebhookDelivery.objects.filter(state=WebhookDelivery.State.PENDING)
    due = pending.filter(next_attempt_at__lte=now)
    oldest_due = due.aggregate(oldest=Min("created_at"))["oldest"]
    return {
        "window_seconds": window_seconds,
        "attempts": counts["total"],
        "succeeded": counts["succeeded"],
        "backlog": pending.count(),
        "due": due.count(),
        "oldest_due_seconds": None if oldest_due is None else max(0, int((now - oldest_due).total_seconds())),
    }
