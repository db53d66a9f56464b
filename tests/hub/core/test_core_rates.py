"""Exchange rates: parsing (parseEther), truncation toward zero at a unit rate, and each refusal of
a counterparty's rate with its code and message."""

from __future__ import annotations

import pytest

from hub.core.errors import UpdateRejected
from hub.core.rates import RATE_MAX_AGE_SECONDS, HubRate, check_rate, rate_to_wad, token_to_wei


def test_rates_parse_like_parse_ether_down_to_the_smallest_positive_unit() -> None:
    assert rate_to_wad(".5") == 5 * 10**17
    assert rate_to_wad("2.") == 2 * 10**18
    assert rate_to_wad("0.000000000000000001") == 1
    # a unit rate divides by one: the sign of the result is the sign of the amount
    assert token_to_wei(5, "0.000000000000000001") == 5 * 10**18
    assert token_to_wei(-5, "0.000000000000000001") == -5 * 10**18


def _rejected(call: object) -> tuple[str, str]:
    with pytest.raises(UpdateRejected) as err:
        call()  # type: ignore[operator]
    return err.value.code, err.value.message


def test_each_refused_rate_has_its_code_and_message() -> None:
    now = 1_700_000_000
    fresh = HubRate(rate="100", retrieved_at=now - RATE_MAX_AGE_SECONDS)  # exactly 24 h: still fresh
    check_rate("100", fresh, now=now)
    assert _rejected(lambda: rate_to_wad("1e3")) == ("bad_args", "exchange rate is not a decimal: '1e3'")
    assert _rejected(lambda: rate_to_wad("0.0")) == ("bad_args", "exchange rate must be positive: '0.0'")
    assert _rejected(lambda: check_rate("100", None, now=now)) == (
        "rate_unavailable", "the hub has no exchange rate")
    stale = HubRate(rate="100", retrieved_at=now - RATE_MAX_AGE_SECONDS - 1)
    assert _rejected(lambda: check_rate("100", stale, now=now)) == (
        "rate_stale", "the hub's exchange rate is older than 24 h")
    assert _rejected(lambda: check_rate("103", fresh, now=now)) == (
        "rate_out_of_range", "exchange rate 103 is not within 2% of 100")
