"""Fiat values of amounts: the rate of a moment, its source, and the conversions an invoice priced
in a fiat currency needs.

The hub's rate is DAI per ETH and the token (SPD) is the dollar stablecoin, so the dollar rate of
ETH is the hub's rate and of SPD is 1 (source `peg`). EUR (and any other currency named in
`conf.FIAT_PER_USD`) is the dollar rate times an operator-set rate (`SPOKE_FIAT_EUR_PER_USD`):
a currency without a rate is refused (`rate_unavailable`), never guessed.

Rates here are "fiat per whole unit of the asset" (per ETH, per SPD). Arithmetic is exact
(Decimal with a wide context, integer base units): an invoice's amount is the price divided by
the rate, rounded up to a whole base unit (the merchant never receives less than the price);
a fiat value is rounded half-up to the cent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Context, Decimal, InvalidOperation

from django.db import models
from django.utils import timezone

from hub.core.rates import RATE_MAX_AGE_SECONDS
from hub.rates.models import ExchangeRate
from payments import conf
from payments.errors import PaymentsError
from payments.units import DECIMALS

CURRENCIES = ("USD", "EUR")
CENT = Decimal("0.01")
WIDE = Context(prec=200, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Quote:
    currency: str
    rate: Decimal  # fiat per whole unit of the asset
    source: str  # e.g. "hub:operator", "hub:price_feed", "peg", "hub:operator*SPOKE_FIAT_EUR_PER_USD"
    at: datetime  # when the rate was retrieved


class FiatRecord(models.Model):
    """The fiat value of a money movement at the time it happened (append-only with its row)."""

    fiat_currency = models.CharField(max_length=3, blank=True, default="")
    fiat_value = models.DecimalField(max_digits=78, decimal_places=2, null=True, blank=True)
    fiat_rate = models.DecimalField(max_digits=78, decimal_places=18, null=True, blank=True)
    fiat_rate_source = models.CharField(max_length=64, blank=True, default="")
    fiat_rate_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


def _per_usd(currency: str) -> tuple[Decimal, str] | None:
    if currency == "USD":
        return Decimal(1), ""
    text = conf.FIAT_PER_USD.get(currency, "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value <= 0:
        return None
    return value, f"*SPOKE_FIAT_{currency}_PER_USD"


def quote(asset: str, currency: str, *, at: datetime | None = None, fresh: bool = False) -> Quote | None:
    """The rate of `asset` in `currency` at time `at` (now when None): the newest hub rate
    retrieved at or before then. `fresh`: refuse a rate older than the hub's 24 h limit (pricing a
    new invoice). None when there is no such rate."""
    if currency not in CURRENCIES:
        return None
    conversion = _per_usd(currency)
    if conversion is None:
        return None
    per_usd, suffix = conversion
    when = at or timezone.now()
    if asset == "token":
        return Quote(currency, WIDE.multiply(Decimal(1), per_usd), f"peg{suffix}", when)
    row = ExchangeRate.objects.filter(retrieved_at__lte=when).order_by("-retrieved_at", "-id").first()
    if row is None or (fresh and when - row.retrieved_at > timedelta(seconds=RATE_MAX_AGE_SECONDS)):
        return None
    try:
        usd = Decimal(row.rate)
    except InvalidOperation:
        return None
    if not usd.is_finite() or usd <= 0:
        return None
    return Quote(currency, WIDE.multiply(usd, per_usd), f"hub:{row.source}{suffix}", row.retrieved_at)


def value_of(amount: int, asset: str, q: Quote) -> Decimal:
    """The fiat value of `amount` base units, to the cent (half-up)."""
    whole = WIDE.divide(Decimal(int(amount)), Decimal(10) ** DECIMALS[asset])
    return WIDE.multiply(whole, q.rate).quantize(CENT, context=WIDE)


def amount_for(price: Decimal, asset: str, q: Quote) -> int:
    """Base units worth `price` at the quote, rounded up to a whole base unit."""
    units = WIDE.divide(WIDE.multiply(price, Decimal(10) ** DECIMALS[asset]), q.rate)
    return int(units.to_integral_value(rounding=ROUND_CEILING))


def record_fields(amount: int, asset: str, *, at: datetime, currency: str = "USD",
                  q: Quote | None = None) -> dict[str, object]:
    """The FiatRecord columns for a movement of `amount` at `at` (empty values without a rate)."""
    q = q or quote(asset, currency, at=at)
    if q is None:
        return {"fiat_currency": currency}
    return {"fiat_currency": q.currency, "fiat_value": value_of(amount, asset, q),
            "fiat_rate": q.rate.quantize(Decimal(10) ** -18, context=WIDE),
            "fiat_rate_source": q.source, "fiat_rate_at": q.at}


def parse_price(text: object) -> Decimal:
    """A fiat price: a decimal string with at most 2 decimals, more than zero."""
    if not isinstance(text, str) or not text.isascii():
        raise PaymentsError("parameter_invalid", "price is a decimal string such as \"19.99\"", param="price")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise PaymentsError("parameter_invalid", "price is a decimal string such as \"19.99\"",
                            param="price") from None
    if not value.is_finite() or value <= 0 or value != value.quantize(CENT, context=WIDE) \
            or value >= Decimal(10) ** 30:
        raise PaymentsError("parameter_invalid", "price is more than zero with at most 2 decimals",
                            param="price")
    return value


def required_quote(asset: str, currency: str) -> Quote:
    q = quote(asset, currency, fresh=True)
    if q is None:
        raise PaymentsError("rate_unavailable", f"no current {currency} rate for {asset}", param="currency")
    return q
