"""The one amount formatter of every page (dashboard, checkout, link page, operator admin).

Amounts are int base units everywhere; this turns them into what a person reads: human units of
the asset with at most `DISPLAY_DECIMALS` decimals ("0.122 ETH", "≈ 0.1235 ETH" when rounded,
"< 0.000001 ETH" for dust), and dollars beside them ("$24.40", "< $0.01"). Integer and Fraction
arithmetic only (no float, no Decimal context: a uint256 has 78 digits). Pure: no Django, no
project imports, so every layer (hub, payments, linkpay) may use it."""

from __future__ import annotations

from fractions import Fraction

DECIMALS = {"wei": 18, "token": 18}
SYMBOLS = {"wei": "ETH", "token": "SPD"}
ASSETS = ("wei", "token")
# what a person reads: ETH and the dollar token to six decimals (a millionth of an ETH is a fraction
# of a cent); the exact value stays in `exact_amount` (titles, forms, CSV, API)
DISPLAY_DECIMALS = {"wei": 6, "token": 6}
FIAT_SYMBOL = "$"
APPROX = "≈ "


def decimal_text(units: int, decimals: int, *, keep: int = 0) -> str:
    """`units` / 10**decimals written out exactly, trailing zeros dropped down to `keep`
    decimals: `decimal_text(150, 2)` → `"1.5"`, `decimal_text(150, 2, keep=2)` → `"1.50"`."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**decimals)
    digits = str(fraction).rjust(decimals, "0") if decimals else ""
    digits = digits.rstrip("0").ljust(keep, "0")
    return f"{sign}{whole}.{digits}" if digits else f"{sign}{whole}"


def _grouped(text: str) -> str:
    """"1234567.5" → "1,234,567.5" (the whole part only)."""
    sign = "-" if text.startswith("-") else ""
    whole, dot, fraction = text.lstrip("-").partition(".")
    return f"{sign}{int(whole):,}{dot}{fraction}"


def _round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator to the nearest integer, halves away from zero (denominator > 0)."""
    sign = -1 if numerator < 0 else 1
    return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))


def exact_amount(amount: int, asset: str, *, symbol: bool = True) -> str:
    """Every digit: `122000000000000300, "wei"` → `"0.1220000000000003 ETH"` (titles, forms)."""
    text = decimal_text(int(amount), DECIMALS[asset])
    return f"{text} {SYMBOLS[asset]}" if symbol else text


def format_amount(amount: int, asset: str, *, symbol: bool = True) -> str:
    """What a person reads: `1500000000000000000, "wei"` → `"1.5 ETH"`; past `DISPLAY_DECIMALS`
    rounded and marked (`"≈ 0.122 ETH"`); a non-zero amount that rounds to nothing is dust
    (`"< 0.000001 ETH"`), never `"0 ETH"`."""
    amount = int(amount)
    decimals, shown = DECIMALS[asset], DISPLAY_DECIMALS[asset]
    unit = f" {SYMBOLS[asset]}" if symbol else ""
    drop = decimals - shown
    if drop <= 0 or amount % 10**drop == 0:
        return _grouped(decimal_text(amount, decimals)) + unit
    rounded = _round_half_up(amount, 10**drop)
    if rounded == 0:
        smallest = decimal_text(1, shown)
        return f"{'> -' if amount < 0 else '< '}{smallest}{unit}"
    return APPROX + _grouped(decimal_text(rounded, shown)) + unit


def fiat_value(amount: int, asset: str, rate: Fraction | None) -> Fraction | None:
    """Dollars, exactly: the token is the dollar stablecoin (1 SPD = $1); ETH is worth `rate`
    dollars (tokens per ETH). None without a rate for ETH."""
    value = Fraction(int(amount), 10 ** DECIMALS[asset])
    if asset == "token":
        return value
    return None if rate is None else value * rate


def fiat_cents(value: Fraction) -> int:
    return _round_half_up(value.numerator * 100, value.denominator)


def format_fiat(value: Fraction | None) -> str:
    """`Fraction(122, 5)` → `"$24.40"`; none → `"—"`; dust (non-zero, under half a cent) → `"< $0.01"`."""
    if value is None:
        return "—"
    cents = fiat_cents(value)
    if cents == 0 and value != 0:
        return f"{'> -' if value < 0 else '< '}{FIAT_SYMBOL}0.01"
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{FIAT_SYMBOL}{whole:,}.{rest:02d}"


def as_fraction(rate: object) -> Fraction | None:
    """A rate (Decimal, str, int) as an exact Fraction; None when missing or not a finite number."""
    if rate is None:
        return None
    try:
        value = Fraction(str(rate))
    except (ValueError, ZeroDivisionError):
        return None
    return value
