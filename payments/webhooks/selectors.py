from __future__ import annotations

from django.db.models import QuerySet

from payments.webhooks.models import WebhookDelivery, WebhookEndpoint


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
