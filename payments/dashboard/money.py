"""Amounts as merchants read them: human units with the asset, and fiat at the rate of the time.

Conversion of base units stays in payments/units.py; this adds the fiat side for display. The
hub's rate is tokens (DAI) per ETH and the token is the dollar stablecoin, so the fiat value of
a token amount is the amount itself and of a wei amount is ETH * rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation

from django.db.models import DecimalField, OuterRef, Subquery
from django.db.models.functions import Cast

from hub.rates.models import ExchangeRate
from ops.amounts import as_fraction, exact_amount, fiat_value, format_amount, format_fiat
from payments.errors import PaymentsError
from payments.units import DECIMALS, SYMBOLS, exact_decimal, human_amount

FIAT_SYMBOL = "$"
CENT = Decimal("0.01")
# Room for any uint256 amount times any rate (the default context's 28 digits are not: quantize
# raised InvalidOperation on a 77-digit invoice, a 500 on the dashboard).
WIDE = Context(prec=200, rounding=ROUND_HALF_UP)


def _div_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero, in integers (denominator > 0)."""
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


@dataclass(frozen=True)
class Money:
    amount: int  # base units
    asset: str  # "wei" | "token"
    rate: Decimal | None = None  # tokens per ETH when the amount moved
    rate_at: datetime | None = None

    @property
    def human(self) -> str:
        return human_amount(self.amount, self.asset)

    @property
    def symbol(self) -> str:
        return SYMBOLS[self.asset]

    @property
    def label(self) -> str:
        """What a person reads (ops.amounts.format_amount): "0.122 ETH", "< 0.000001 ETH"."""
        return format_amount(self.amount, self.asset)

    @property
    def exact_label(self) -> str:
        return exact_amount(self.amount, self.asset)

    @property
    def fiat(self) -> Decimal | None:
        """Dollars to the cent, exact for every amount (integer arithmetic, then a Decimal)."""
        scale = 10 ** DECIMALS[self.asset]
        if self.asset == "token":
            return exact_decimal(_div_half_up(self.amount * 100, scale), 2)
        if self.rate is None or not self.rate.is_finite():
            return None
        numerator, denominator = self.rate.as_integer_ratio()
        return exact_decimal(_div_half_up(self.amount * numerator * 100, scale * denominator), 2)

    @property
    def fiat_label(self) -> str:
        """"$24.40"; "< $0.01" for dust (never "$0.00" for a non-zero amount); "—" without a rate."""
        return format_fiat(fiat_value(self.amount, self.asset, as_fraction(self.rate)))

    @property
    def rate_note(self) -> str:
        if self.asset == "token":
            return "1 SPD = 1 DAI ≈ $1"
        if self.rate is None:
            return "no exchange rate recorded at that time"
        when = f" on {self.rate_at:%Y-%m-%d %H:%M} UTC" if self.rate_at else ""
        return f"at 1 ETH = {self.rate.normalize():f} DAI{when}"


def fiat_label(value: Decimal | None) -> str:
    return format_fiat(None if value is None else as_fraction(value))


def rate_then(time_field: str) -> Subquery:
    """Annotation: the newest rate retrieved at or before the row's `time_field` (the rate of
    the time), as numeric. One correlated lookup on the indexed `retrieved_at`."""
    rows = ExchangeRate.objects.filter(retrieved_at__lte=OuterRef(time_field)).order_by("-retrieved_at", "-id")
    return Subquery(rows.annotate(value=Cast("rate", DecimalField(max_digits=40, decimal_places=18)))
                    .values("value")[:1])


def rate_time_then(time_field: str) -> Subquery:
    rows = ExchangeRate.objects.filter(retrieved_at__lte=OuterRef(time_field)).order_by("-retrieved_at", "-id")
    return Subquery(rows.values("retrieved_at")[:1])


def rate_at(when: datetime) -> tuple[Decimal | None, datetime | None]:
    row = ExchangeRate.objects.filter(retrieved_at__lte=when).order_by("-retrieved_at", "-id").first()
    if row is None:
        return None, None
    try:
        return Decimal(row.rate), row.retrieved_at
    except InvalidOperation:
        return None, None


def parse_human(text: str, asset: str, *, param: str = "amount") -> int:
    """"1.5" ETH → 1500000000000000000 wei. Refuses more decimals than the asset has."""
    try:
        value = Decimal(str(text).strip().replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise PaymentsError("amount_invalid", "enter an amount such as 0.25", param=param) from None
    if not value.is_finite() or value <= 0:
        raise PaymentsError("amount_invalid", "the amount must be more than zero", param=param)
    base = value.scaleb(DECIMALS[asset])
    if base != base.to_integral_value():
        raise PaymentsError("amount_invalid", f"at most {DECIMALS[asset]} decimals", param=param)
    if base >= 2**256:
        raise PaymentsError("amount_invalid", "the amount is too large", param=param)
    return int(base)
