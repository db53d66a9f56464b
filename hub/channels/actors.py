"""Periodic channel work: invalidating timed-out pending states, reconciliation, rates, gas."""

from __future__ import annotations

import logging

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

from hub.channels.confirmations import channels_invalidate_timed_out
from hub.channels.reconciliation import reconcile_channels
from hub.collateral import services as collateral
from hub.rates.services import gas_refresh, rate_refresh

logger = logging.getLogger(__name__)


@interval(seconds=10)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=60_000)
def invalidate_timed_out_channels() -> None:
    channels_invalidate_timed_out()


@interval(seconds=settings.RECONCILIATION_SECONDS)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=300_000)
def reconcile() -> None:
    report = reconcile_channels()
    if not report.ok:
        logger.error("reconciliation found %d mismatches", len(report.mismatches))


@interval(seconds=60)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=60_000)
def refresh_exchange_rate() -> None:
    rate_refresh()


@interval(seconds=60)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=60_000)
def refresh_gas_price() -> None:
    gas_refresh()


@interval(seconds=settings.COLLATERAL_SWEEP_SECONDS)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=120_000)
def collateralize_frequent_recipients() -> None:
    collateral.collateralize_frequent_recipients()


@interval(seconds=600)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=120_000)
def reclaim_idle_collateral() -> None:
    collateral.reclaim_idle_collateral()


@interval(seconds=60)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=60_000)
def check_hub_reserve() -> None:
    collateral.reserve_check()
