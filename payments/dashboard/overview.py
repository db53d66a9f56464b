"""The overview page's reads: the chosen period and the one before it, the daily volume chart
(geometry for a server-rendered SVG: the page runs no inline script or style), and the
onboarding checklist derived from what the merchant has really set up.

Days are the merchant's days: the request runs in the merchant's time zone (activated by
`dashboard_view`), so `TruncDate` and the day boundaries use it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from hub.purchases.models import Payment
from ops.replica import reading_alias
from payments.dashboard.money import Money, fiat_label
from payments.dashboard.selectors import day_start, payments_for_merchant
from payments.dashboard.volume import day_boundaries_fit, rollup_daily_volume
from payments.merchants.selectors import merchant_addresses
from payments.units import ASSETS, exact_decimal

PRESETS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_DAYS = 366  # a custom range is at most a year (the chart draws one bar a day)


@dataclass(frozen=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive
    preset: str  # "7" | "30" | "90" | "custom"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of the same length that ends the day before this one starts."""
        end = self.start - timedelta(days=1)
        return Period(end - timedelta(days=self.days - 1), end, self.preset)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]


def preset_period(days: int, today: date) -> Period:
    return Period(today - timedelta(days=days - 1), today, str(days))


@dataclass
class DayVolume:
    count: int = 0
    wei: int = 0
    token: int = 0
    fiat: Decimal = Decimal(0)


# The daily volume in one statement. Each payment takes the rate of its time (the newest rate
# retrieved at or before it, the later row on a tie: `money.rate_then`), found by walking the rates
# and the payments together in time order (a rate row starts a group, the payments after it belong
# to it) instead of one index lookup per payment: a year of a busy merchant is a million payments.
# Fiat is summed in cents, each payment's cents rounded half up as `Money.fiat` does (exact
# numeric arithmetic: div() truncates, the amounts are never negative).
_DAILY_SQL = """
WITH merged AS (
    SELECT r.retrieved_at AS t, 0 AS kind, r.id AS id, r.rate::numeric(40, 18) AS rate,
           NULL::numeric AS wei, NULL::numeric AS token
    FROM hub_exchangerate r
    WHERE r.retrieved_at < %(end)s AND r.retrieved_at >= coalesce(
        (SELECT max(f.retrieved_at) FROM hub_exchangerate f WHERE f.retrieved_at <= %(start)s),
        '-infinity'::timestamptz)
    UNION ALL
    SELECT p.created_at, 1, p.id, NULL, p.amount_wei, p.amount_token FROM ({payments}) p
), grouped AS (
    SELECT m.*, count(m.rate) OVER (ORDER BY m.t, m.kind, m.id ROWS UNBOUNDED PRECEDING) AS grp
    FROM merged m
), rated AS (
    SELECT g.t, g.kind, g.wei, g.token, max(g.rate) OVER (PARTITION BY g.grp) AS rate FROM grouped g
)
SELECT (t AT TIME ZONE %(zone)s)::date AS day, count(*), coalesce(sum(wei), 0),
       coalesce(sum(token), 0),
       coalesce(sum(div(200 * token + %(scale_token)s, 2 * %(scale_token)s)), 0),
       coalesce(sum(CASE WHEN rate IS NULL OR rate = 'NaN' THEN 0
                         ELSE div(200 * wei * rate + %(scale_wei)s, 2 * %(scale_wei)s) END), 0)
FROM rated WHERE kind = 1 GROUP BY 1
"""


def daily_volume(rows: QuerySet[Payment], start: datetime, end: datetime) -> dict[date, DayVolume]:
    """Per day of the current time zone: count, totals per asset and fiat, each payment at the
    rate of its time. `rows` are the payments to count, all created in [start, end). One query."""
    from django.db import connections

    from payments.units import DECIMALS

    payments_sql, payments_params = rows.order_by().values(
        "created_at", "id", "amount_wei", "amount_token").query.sql_with_params()
    params = {f"p{i}": value for i, value in enumerate(payments_params)}
    sql = _DAILY_SQL.format(payments=payments_sql % tuple(f"%({k})s" for k in params))
    per_day: dict[date, DayVolume] = {}
    with connections[rows.db].cursor() as cursor:  # the database `rows` read from (a replica)
        cursor.execute(sql, {**params, "start": start, "end": end,
                             "zone": timezone.get_current_timezone_name(),
                             "scale_token": 10 ** DECIMALS["token"], "scale_wei": 10 ** DECIMALS["wei"]})
        for day, count, wei, token, token_cents, wei_cents in cursor.fetchall():
            per_day[day] = DayVolume(count, int(wei), int(token),
                                     exact_decimal(int(token_cents) + int(wei_cents), 2))
    return per_day


@dataclass(frozen=True)
class Totals:
    count: int
    totals: dict[str, int]
    fiat: Decimal

    def money(self) -> list[Money]:
        return [Money(self.totals[a], a) for a in ASSETS]

    @property
    def fiat_label(self) -> str:
        return fiat_label(self.fiat)


def _totals(per_day: dict[date, DayVolume], period: Period) -> Totals:
    buckets = [v for d, v in per_day.items() if period.start <= d <= period.end]
    return Totals(sum(b.count for b in buckets),
                  {"wei": sum(b.wei for b in buckets), "token": sum(b.token for b in buckets)},
                  sum((b.fiat for b in buckets), Decimal(0)))


@dataclass(frozen=True)
class Change:
    """How a figure moved against the previous period: a percentage when the previous period
    had any, else "new" (or nothing when both are zero)."""

    current: Decimal
    previous: Decimal

    @property
    def percent(self) -> Decimal | None:
        if self.previous == 0:
            return None
        return ((self.current - self.previous) * 100 / self.previous).quantize(Decimal("0.1"))

    @property
    def direction(self) -> str:
        if self.current > self.previous:
            return "up"
        return "down" if self.current < self.previous else "flat"

    @property
    def label(self) -> str:
        pct = self.percent
        if pct is None:
            return str(_("new")) if self.current else "—"
        sign = "+" if pct > 0 else ("\u2212" if pct < 0 else "\u00b1")
        return f"{sign}{abs(pct)}%"


@dataclass(frozen=True)
class Comparison:
    period: Period
    previous_period: Period
    current: Totals
    previous: Totals

    @property
    def fiat_change(self) -> Change:
        return Change(self.current.fiat, self.previous.fiat)

    @property
    def count_change(self) -> Change:
        return Change(Decimal(self.current.count), Decimal(self.previous.count))


# --- the chart ----------------------------------------------------------------------------------

# The SVG's coordinate system (viewBox); the plot area leaves room for the axis labels.
CHART_W, CHART_H = 640, 240
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 64, 628, 12, 204


@dataclass(frozen=True)
class Bar:
    day: date
    fiat: Decimal
    count: int
    x: float
    y: float
    width: float
    height: float

    @property
    def fiat_label(self) -> str:
        return fiat_label(self.fiat)


@dataclass(frozen=True)
class Tick:
    label: str
    x: float = 0.0
    y: float = 0.0


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    top: Decimal
    width: int = CHART_W
    height: int = CHART_H
    left: int = PLOT_LEFT
    right: int = PLOT_RIGHT
    top_y: int = PLOT_TOP
    bottom: int = PLOT_BOTTOM

    @property
    def highest(self) -> Bar | None:
        return max(self.bars, key=lambda b: b.fiat, default=None) if any(b.fiat for b in self.bars) else None


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 times 10^k at or above `value` (the top of the value axis)."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for _round in range(2):
        for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5)):
            candidate = step.scaleb(exponent)
            if candidate >= value:
                return candidate
        exponent += 1
    return Decimal(10).scaleb(exponent)  # pragma: no cover (the loop always finds one)


def _axis_label(value: Decimal) -> str:
    if value >= 1_000_000:
        return f"${(value / 1_000_000).normalize():f}M"
    if value >= 10_000:
        return f"${(value / 1000).normalize():f}k"
    return f"${value.normalize():f}" if value == value.to_integral_value() else f"${value:.2f}"


def volume_chart(per_day: dict[date, DayVolume], period: Period) -> Chart:
    days = period.dates()
    tallest = max((per_day[d].fiat for d in days if d in per_day), default=Decimal(0))
    top = nice_ceiling(tallest)
    plot_w, plot_h = PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP
    slot = plot_w / len(days)
    gap = min(slot * 0.2, 4.0)
    bars = []
    for i, day in enumerate(days):
        bucket = per_day.get(day, DayVolume())
        h = float(bucket.fiat / top) * plot_h if top > 0 else 0.0
        bars.append(Bar(day, bucket.fiat, bucket.count, round(PLOT_LEFT + i * slot + gap / 2, 2),
                        round(PLOT_BOTTOM - h, 2), round(slot - gap, 2), round(h, 2)))
    y_ticks = [Tick(_axis_label(top * k / 4), PLOT_LEFT - 6, round(PLOT_BOTTOM - plot_h * k / 4, 2))
               for k in range(5)]
    count = min(len(days), 6)
    indexes = sorted({round(i * (len(days) - 1) / max(count - 1, 1)) for i in range(count)})
    fmt = "%b %-d" if period.days <= 120 else "%b %Y"
    x_ticks = [Tick(days[i].strftime(fmt), round(PLOT_LEFT + (i + 0.5) * slot, 2), PLOT_BOTTOM + 18)
               for i in indexes]
    return Chart(bars, y_ticks, x_ticks, top)


def overview(merchant_id: int, period: Period) -> tuple[Comparison, Chart]:
    """Completed volume in `period` against the period of the same length before it, and the
    daily chart of `period`. One query over both periods, on the rollup (payments.dashboard.volume:
    a few thousand quarter-hour rows instead of every payment) unless a day of the merchant's
    time zone does not start on a quarter hour (a local mean time): then over the payments."""
    previous = period.previous()
    start, end = day_start(previous.start), day_start(period.end + timedelta(days=1))
    if day_boundaries_fit(previous.start, period.end):
        per_day = {day: DayVolume(count, wei, token, exact_decimal(cents, 2))
                   for day, (count, wei, token, cents) in rollup_daily_volume(
                       merchant_addresses(merchant_id), start, end, reading_alias()).items()}
    else:
        rows = payments_for_merchant(merchant_id).filter(
            status=Payment.Status.COMPLETED, created_at__gte=start,
            created_at__lt=end).using(reading_alias())
        per_day = daily_volume(rows, start, end)
    comparison = Comparison(period, previous, _totals(per_day, period), _totals(per_day, previous))
    return comparison, volume_chart(per_day, period)


def today_in_zone(now: datetime | None = None) -> date:
    return timezone.localdate(now or timezone.now())


# --- onboarding ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    key: str
    label: str
    help: str
    url: str
    done: bool


def onboarding_steps(merchant_id: int, payout_address: str) -> list[Step]:
    """What a new merchant sets up, each step read from the data it stands for."""
    from payments.apikeys.models import ApiKey
    from payments.invoices.models import Invoice
    from payments.webhooks.models import WebhookEndpoint

    return [
        Step("payout_address", str(_("Set your payout address")),
             str(_("Where settlements pay your balance out on-chain.")),
             reverse("payments:dashboard:settlements") + "#auto-rule", bool(payout_address)),
        Step("api_key", str(_("Create an API key")),
             str(_("Your shop backend uses it to create invoices.")),
             reverse("payments:dashboard:api_keys") + "#new-key",
             ApiKey.objects.filter(merchant_id=merchant_id).exists()),
        Step("webhook", str(_("Add a webhook endpoint")),
             str(_("Hear about payments as they happen.")),
             reverse("payments:dashboard:webhooks"),
             WebhookEndpoint.objects.filter(merchant_id=merchant_id).exists()),
        Step("invoice", str(_("Create a test invoice")),
             str(_("See the checkout page your customers will see.")),
             reverse("payments:dashboard:invoice_new"),
             Invoice.objects.filter(merchant_id=merchant_id).exists()),
    ]
