from __future__ import annotations

import dramatiq
from dramatiq_crontab import interval

from payments.idempotency import services


@interval(seconds=3600)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=300_000)
def purge_idempotency_records() -> None:
    services.idempotency_purge()
