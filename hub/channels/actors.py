"""Periodic channel work: invalidating timed-out pending states, reconciliation, rates, gas."""

from __future__ import annotations

import logging

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

logger = logging.getLogger(__name__)


@interval(seconds=10)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=60_000)
def invalidate_timed_out_channels() -> None:
    from hub.channels.services import channels_invalidate_timed_out

    channels_invalidate_timed_out()


@interval(seconds=settings.RECONCILIATION_SECONDS)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=300_000)
def reconcile() -> None:
    from hub.channels.reconciliation import reconcile_channels

    report = reconcile_channels()
    if not report.ok:
        logger.error("reconciliation found %d mismatches", len(report.mismatches))


@interval(seconds=60)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=60_000)
def refresh_exchange_rate() -> None:
    from hub.rates.services import rate_refresh

    rate_refresh()


@interval(seconds=60)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=60_000)
def refresh_gas_price() -> None:
    from hub.rates.services import gas_refresh

    gas_refresh()


@interval(seconds=settings.COLLATERAL_SWEEP_SECONDS)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=120_000)
def collateralize_frequent_recipients() -> None:
    from hub.collateral.services import collateralize_frequent_recipients as run

    run()


@interval(seconds=600)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=120_000)
def reclaim_idle_collateral() -> None:
    from hub.collateral.services import reclaim_idle_collateral as run

    run()


@interval(seconds=60)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=60_000)
def check_hub_reserve() -> None:
    from hub.collateral.services import reserve_check

    reserve_check()
