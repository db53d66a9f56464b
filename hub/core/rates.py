"""Exchange-rate arithmetic, ported from connext/dist/lib/bn.js, plus the hub's rate policy.

A rate is "tokens per ETH" as a decimal string ("123.45"). The client turns it into an 18-decimal
fixed-point integer (ethers `parseEther`) and truncates every conversion toward zero; Spoke must
produce the very same integers or signatures over regenerated states would not match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.core.errors import RejectCode, UpdateRejected

WAD = 10**18
RATE_MAX_AGE_SECONDS = 24 * 60 * 60
RATE_BAND_PERCENT = 2

# At most 59 whole digits: the 18-decimal fixed-point rate stays below 2**256 (and int() is never
# asked for a number past its 4300-digit limit).
_RATE_RE = re.compile(r"^(?:[0-9]{1,59}(?:\.[0-9]{0,18})?|\.[0-9]{1,18})$")


def rate_to_wad(rate: str) -> int:
    """`parseEther(rate)`: the rate as an integer with 18 decimals. Must be positive."""
    if not isinstance(rate, str) or not _RATE_RE.match(rate):
        raise UpdateRejected(RejectCode.BAD_ARGS, f"exchange rate is not a decimal: {str(rate)[:80]!r}")
    whole, _, frac = rate.partition(".")
    wad = int(whole or "0") * WAD + int((frac or "0").ljust(18, "0"))
    if wad <= 0:
        raise UpdateRejected(RejectCode.BAD_ARGS, f"exchange rate must be positive: {rate!r}")
    return wad


def _div_toward_zero(numerator: int, denominator: int) -> int:
    # BN.js division truncates toward zero; Python's // floors. The exchange math feeds negative
    # amounts (the hub as seller), where the two differ.
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


def wei_to_token(wei: int, rate: str) -> int:
    """`weiToToken`: formatEther(toWei(rate) * wei) with the decimals cut off."""
    return _div_toward_zero(rate_to_wad(rate) * wei, WAD)


def token_to_wei(token: int, rate: str) -> int:
    """`tokenToWei`: toWei(token) / toWei(rate)."""
    return _div_toward_zero(token * WAD, rate_to_wad(rate))


@dataclass(frozen=True, slots=True)
class ExchangeAmounts:
    """From the user's point of view: what the user receives and gives up (may be negative)."""

    tokens_received: int
    tokens_sold: int
    wei_received: int
    wei_sold: int


def calculate_exchange(
    *, seller: str, rate: str, wei_to_sell: int, tokens_to_sell: int
) -> ExchangeAmounts:
    """Port of StateGenerator.calculateExchange. Tokens that do not divide cleanly into wei stay
    with the seller, so `tokens_sold` may be slightly below `tokens_to_sell`."""
    sign = -1 if seller == "hub" else 1
    tokens = tokens_to_sell * sign
    wei = wei_to_sell * sign
    wei_received = token_to_wei(tokens, rate)
    tokens_received = wei_to_token(wei, rate)
    remainder = tokens - wei_to_token(wei_received, rate)
    return ExchangeAmounts(
        tokens_received=tokens_received + remainder,
        tokens_sold=tokens - remainder,
        wei_received=wei_received,
        wei_sold=wei,
    )


@dataclass(frozen=True, slots=True)
class HubRate:
    """The hub's current rate and when it was fetched (unix seconds)."""

    rate: str
    retrieved_at: int


def check_rate(proposed: str, hub_rate: HubRate | None, *, now: int) -> None:
    """A counterparty's rate must be within 2 % of a hub rate that is at most 24 h old."""
    proposed_wad = rate_to_wad(proposed)
    if hub_rate is None:
        raise UpdateRejected(RejectCode.RATE_UNAVAILABLE, "the hub has no exchange rate")
    if now - hub_rate.retrieved_at > RATE_MAX_AGE_SECONDS:
        raise UpdateRejected(RejectCode.RATE_STALE, "the hub's exchange rate is older than 24 h")
    hub_wad = rate_to_wad(hub_rate.rate)
    if abs(proposed_wad - hub_wad) * 100 > hub_wad * RATE_BAND_PERCENT:
        raise UpdateRejected(
            RejectCode.RATE_OUT_OF_RANGE,
            f"exchange rate {proposed} is not within {RATE_BAND_PERCENT}% of {hub_rate.rate}",
        )
