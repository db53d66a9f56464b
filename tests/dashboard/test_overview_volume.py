"""The overview's daily volume is one SQL aggregation (issue 20: a million payments): it must give
exactly what the per-payment reading gives (each payment at the rate of its time, its fiat
rounded half up to the cent), whatever the rates, their ties and the time zone."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models.functions import TruncDate
from django.utils import timezone

from hub.purchases.models import Payment
from hub.rates.models import ExchangeRate
from payments.dashboard.money import Money
from payments.dashboard.overview import DayVolume, daily_volume
from payments.dashboard.selectors import payments_for_merchant
from payments.dashboard.volume import BUCKET_SECONDS, rollup_daily_volume, volume_fold
from payments.units import exact_decimal
from tests.dashboard.helpers import make_payment, make_team

pytestmark = pytest.mark.django_db


def per_payment(rows) -> dict:  # type: ignore[no-untyped-def]
    """The reference: every payment read one by one with its rate (`rate_then`) and `Money`."""
    per_day: dict = {}
    for wei, token, rate, day in rows.annotate(day=TruncDate("created_at")).values_list(
            "amount_wei", "amount_token", "rate_then", "day"):
        bucket = per_day.setdefault(day, DayVolume())
        bucket.count += 1
        bucket.wei += int(wei)
        bucket.token += int(token)
        bucket.fiat += (Money(int(token), "token").fiat or Decimal(0)) + (
            Money(int(wei), "wei", Decimal(rate) if rate is not None else None).fiat or Decimal(0))
    return per_day


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/St_Johns"])
def test_the_sql_daily_volume_equals_the_per_payment_reading(zone: str) -> None:
    rng = random.Random(20)
    team = make_team("Volume shop")
    now = timezone.now().replace(microsecond=0)
    start, end = now - timedelta(days=6), now + timedelta(seconds=1)
    # a payment before any rate (no fiat for its wei), then rates with odd digits, two sharing
    # a time (the later row wins), one exactly at a payment's time
    make_payment(team.address, wei=123_456_789_012_345_678, created_at=start + timedelta(minutes=1))
    rate_times = sorted(start + timedelta(minutes=rng.randrange(10, 8000)) for _ in range(12))
    for i, at in enumerate(rate_times):
        ExchangeRate.objects.create(rate=f"{1999 + i}.{rng.randrange(10**18):018d}", source="operator",
                                    retrieved_at=at)
    ExchangeRate.objects.create(rate="2500.5", source="operator", retrieved_at=rate_times[3])
    ExchangeRate.objects.create(rate="2600.000000000000000001", source="operator",
                                retrieved_at=rate_times[3])
    make_payment(team.address, wei=10**18 + 5, created_at=rate_times[3])
    make_payment(team.address, wei=5_000_000_000_000_001, created_at=rate_times[7])
    for i in range(40):
        if i == 20:  # the overview reads the first payments from the rollup, the rest from the tail
            assert volume_fold(wait_seconds=5) is not None
        at = start + timedelta(seconds=rng.randrange(0, 6 * 86400))
        if rng.random() < 0.5:
            make_payment(team.address, wei=rng.randrange(1, 10**21), created_at=at)
        else:
            make_payment(team.address, token=rng.randrange(1, 10**21), created_at=at)
    make_payment(team.address, token=10**18, created_at=at, status=Payment.Status.PENDING)
    with timezone.override(ZoneInfo(zone)):
        rows = payments_for_merchant(team.merchant.pk).filter(
            status=Payment.Status.COMPLETED, created_at__gte=start, created_at__lt=end)
        expected = per_payment(rows)
        got = daily_volume(rows, start, end)
        # the rollup the overview reads (with the payments after its watermark), over the quarter
        # hours around the same payments
        quarter = timedelta(seconds=BUCKET_SECONDS)
        first = start - timedelta(seconds=start.timestamp() % BUCKET_SECONDS)
        rolled = {day: DayVolume(count, wei, token, exact_decimal(cents, 2)) for day, (count, wei, token, cents)
                  in rollup_daily_volume([team.address], first, end + quarter, "default").items()}
    assert got == expected
    assert rolled == expected
    assert sum(v.count for v in got.values()) == 43
    assert any(v.fiat != v.fiat.to_integral_value() for v in got.values())
