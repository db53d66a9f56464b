"""Refunds the payer's channel could not take at once are retried by a periodic sweep."""

from __future__ import annotations

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

from payments.refunds.execution import refunds_sweep


@interval(seconds=settings.REFUND_SWEEP_SECONDS)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=120_000)
def sweep_refunds() -> None:
    refunds_sweep()
