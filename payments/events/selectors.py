from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from payments import conf
from payments.events.models import Event


def events_for_merchant(merchant_id: int, *, type: str | None = None,
                        now: datetime | None = None) -> QuerySet[Event]:
    """The merchant's events of the last EVENTS_LISTED_FOR_SECONDS, newest first."""
    since = (now or timezone.now()) - timedelta(seconds=conf.EVENTS_LISTED_FOR_SECONDS)
    rows = Event.objects.filter(merchant_id=merchant_id, created_at__gte=since)
    if type:
        rows = rows.filter(type=type)
    return rows.order_by("-id")
