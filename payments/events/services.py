"""Recording domain events. Writers call `event_record` inside their own transaction."""

from __future__ import annotations

import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from payments.events.catalogue import API_VERSION
from payments.events.models import Event
from payments.events.origin import merchant_request
from payments.webhooks.services import deliveries_create_for_event

logger = logging.getLogger(__name__)


def dashboard_group(merchant_id: int) -> str:
    """The WebSocket group of a merchant's dashboard (see payments/routing.py)."""
    return f"payments.merchant.{merchant_id}"


def _push_dashboard(merchant_id: int, payload: dict[str, Any]) -> None:
    """Best effort, from the hub's push loop (the request does not wait for Redis): the
    dashboard also polls."""
    from hub.push import send_groups

    send_groups([(dashboard_group(merchant_id), payload)])


def event_record(*, type: str, merchant_id: int | None, data: dict[str, Any],
                 idempotency_key: str | None = None) -> Event:
    """Record an immutable event; after commit, deliver it to the merchant's matching webhook
    endpoints and push it to the merchant's dashboard.

    Call inside the writer's transaction: if it rolls back, the event, its deliveries and the
    pushes vanish with it. Idempotent on `idempotency_key` (the first event is returned).

    `data` is `{"object": <the object as the API shows it>}` for every type (one envelope; see
    catalogue.py). The request being served (if any) is recorded as the event's `request`."""
    if not (isinstance(data, dict) and set(data) == {"object"} and isinstance(data["object"], dict)):
        raise ValueError("event data is {'object': {...}}")
    request_id, request_key = merchant_request()

    with transaction.atomic():
        if idempotency_key:
            existing = Event.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return existing
        try:
            with transaction.atomic():
                event = Event.objects.create(type=type, merchant_id=merchant_id, data=data,
                                             idempotency_key=idempotency_key or None,
                                             api_version=API_VERSION, request_id=request_id or "",
                                             request_idempotency_key=request_key or "")
        except IntegrityError:
            if not idempotency_key:
                raise
            return Event.objects.get(idempotency_key=idempotency_key)
        if merchant_id is not None:
            deliveries_create_for_event(event=event, now=timezone.now())
            from payments.dashboard.toasts import toast_for

            payload = {"type": "event", "event": event.as_payload(), "toast": toast_for(type, data)}
            transaction.on_commit(lambda: _push_dashboard(merchant_id, payload), robust=True)
        return event
