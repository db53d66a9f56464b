from __future__ import annotations

import dramatiq
from dramatiq_crontab import interval

from payments.invoices import services


@interval(seconds=30)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=120_000)
def expire_invoices() -> None:
    services.invoices_expire()
