from __future__ import annotations

import dramatiq
from dramatiq_crontab import interval

from payments import conf
from payments.settlements import services


@interval(seconds=conf.AUTO_SETTLEMENT_INTERVAL_SECONDS)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=300_000)
def run_automatic_settlements() -> None:
    services.settlements_mark_submitted()
    services.settlements_run_automatic()
