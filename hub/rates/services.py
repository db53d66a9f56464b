"""The hub's exchange rate and gas price: refreshed periodically, broadcast after commit."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from hub.chain.market import read_fees, read_price_feed
from hub.core import HubRate
from hub.core.rates import RATE_MAX_AGE_SECONDS, rate_to_wad
from hub.push import broadcast_subscribers
from hub.rates.models import ExchangeRate, GasPrice, RateSource
from ops.services import alarm_raise

logger = logging.getLogger(__name__)


def rate_source() -> RateSource:
    source = RateSource.objects.order_by("pk").first()
    return source or RateSource.objects.create()


def rate_current() -> HubRate | None:
    """The newest rate, or None when none is younger than 24 h (callers then refuse to trade)."""
    row = ExchangeRate.objects.first()
    if row is None or timezone.now() - row.retrieved_at > timedelta(seconds=RATE_MAX_AGE_SECONDS):
        return None
    return HubRate(rate=row.rate, retrieved_at=int(row.retrieved_at.timestamp()))


def rate_latest_row() -> ExchangeRate | None:
    return ExchangeRate.objects.first()


@transaction.atomic
def rate_refresh() -> ExchangeRate | None:
    """Fetch the rate from the configured source and record it. A feed answer older than 24 h is
    refused (and alarmed): a stale rate must never be used to price an exchange."""
    source = rate_source()
    if source.kind == RateSource.Kind.PRICE_FEED:
        try:
            reading = read_price_feed(source.feed_address)
        except Exception as exc:
            alarm_raise(kind="rate_feed", message=f"price feed unreadable: {type(exc).__name__}")
            return None
        fetched_at = datetime.fromtimestamp(reading.updated_at, tz=UTC)
        if timezone.now() - fetched_at > timedelta(seconds=RATE_MAX_AGE_SECONDS):
            alarm_raise(kind="rate_feed", message="price feed answer is older than 24 h")
            return None
        rate, when = reading.rate, fetched_at
    else:
        rate, when = source.operator_rate.strip(), timezone.now()
    rate_to_wad(rate)  # refuses malformed or non-positive rates
    row = ExchangeRate.objects.create(rate=rate, source=source.kind, retrieved_at=when)
    transaction.on_commit(lambda: _broadcast("ExchangeRate", row.rate))
    return row


@transaction.atomic
def gas_refresh() -> GasPrice | None:
    try:
        fees = read_fees()
    except Exception as exc:
        logger.warning("gas price refresh failed: %s", type(exc).__name__)
        return None
    row = GasPrice.objects.create(
        block_number=fees.block_number, base_fee_wei=fees.base_fee_wei,
        priority_fee_wei=fees.priority_fee_wei, retrieved_at=timezone.now(),
    )
    transaction.on_commit(lambda: _broadcast("GasPrice", str(gwei_of(row.fast_wei))))
    return row


def gas_latest() -> GasPrice | None:
    return GasPrice.objects.first()


def gwei_of(wei: int) -> int:
    return max(1, -(-wei // 10**9))  # round up to whole gwei, never 0


def _broadcast(kind: str, data: str) -> None:
    broadcast_subscribers({"type": kind, "data": data})
