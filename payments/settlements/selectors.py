from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from hub.chain.models import ChainTransactionAttempt
from payments.settlements.models import Settlement


def settlements_for_merchant(merchant_id: int, *, status: str | None = None, start: date | None = None,
                             end: date | None = None) -> QuerySet[Settlement]:
    """The merchant's settlements, newest first; `start`/`end` are days of the current time zone
    (both included)."""
    rows = (
        Settlement.objects.filter(merchant_id=merchant_id)
        .select_related("chain_transaction")
        .prefetch_related(Prefetch("chain_transaction__attempts",
                                   queryset=ChainTransactionAttempt.objects.order_by("id")))
    )
    if status:
        rows = rows.filter(state=status)
    zone = timezone.get_current_timezone()
    if start:
        rows = rows.filter(created_at__gte=datetime.combine(start, time.min, tzinfo=zone))
    if end:
        rows = rows.filter(created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))
    return rows.order_by("-id")
