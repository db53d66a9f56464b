"""The periodic proof-of-liabilities root (the scheduler runs it every LIABILITIES_SECONDS)."""

from __future__ import annotations

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

from hub.liabilities.services import liabilities_publish


@interval(seconds=settings.LIABILITIES_SECONDS)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=600_000)
def publish_liabilities() -> None:
    liabilities_publish()
