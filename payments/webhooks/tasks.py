"""Webhook actors: one attempt per message, and a sweep so nothing depends on Redis keeping a
delayed message."""

from __future__ import annotations

import dramatiq
from django.utils import timezone
from dramatiq_crontab import interval

from payments.webhooks import services
from payments.webhooks.models import WebhookDelivery

QUEUE = "webhooks"
# Messages are delayed at most this long; the sweep picks up anything later.
MAX_MESSAGE_DELAY_MS = 15 * 60 * 1000


@dramatiq.actor(queue_name=QUEUE, max_retries=3, time_limit=60_000)
def deliver_webhook(delivery_id: int) -> None:
    if services.registry.busy_or_ended(delivery_id):
        return  # a batch in this process holds it or has ended it (services.BATCH_SIZE)
    delivery = services.delivery_attempt(delivery_id=delivery_id, batch=services.BATCH_SIZE)
    if delivery is None or delivery.state != WebhookDelivery.State.PENDING or not delivery.next_attempt_at:
        return
    delay_ms = int((delivery.next_attempt_at - timezone.now()).total_seconds() * 1000)
    if 0 < delay_ms <= MAX_MESSAGE_DELAY_MS:
        deliver_webhook.send_with_options(args=(delivery_id,), delay=delay_ms)


@interval(seconds=30)
@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=60_000)
def sweep_webhook_deliveries() -> None:
    for delivery_id in services.deliveries_due():
        deliver_webhook.send(delivery_id)
