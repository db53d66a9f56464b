"""The one amount formatter: exact where it can be, rounding marked, dust never shown as zero."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from django.template import Context, Template
from hypothesis import given
from hypothesis import strategies as st

from ops.amounts import exact_amount, fiat_value, format_amount, format_fiat
from ops.templatetags.details import kv_items

ETH = 10**18


def test_amounts_read_as_people_write_them() -> None:
    assert format_amount(0, "wei") == "0 ETH"
    assert format_amount(ETH * 3 // 2, "wei") == "1.5 ETH"
    assert format_amount(122000000000000300, "wei") == "≈ 0.122 ETH"  # the float-ish tail is gone
    assert exact_amount(122000000000000300, "wei") == "0.1220000000000003 ETH"
    assert format_amount(600, "wei") == "< 0.000001 ETH"  # dust is not zero
    assert format_amount(1234567 * ETH, "token") == "1,234,567 SPD"
    assert format_amount(2**256 - 1, "wei").endswith(" ETH")  # 78 digits, no context overflow


def test_fiat_is_to_the_cent_and_dust_is_not_zero_dollars() -> None:
    assert format_fiat(fiat_value(122000000000000300, "wei", Fraction(200))) == "$24.40"
    assert format_fiat(fiat_value(600, "wei", Fraction(200))) == "< $0.01"
    assert format_fiat(fiat_value(0, "wei", Fraction(200))) == "$0.00"
    assert format_fiat(fiat_value(ETH, "wei", None)) == "—"
    assert format_fiat(fiat_value(ETH // 200, "token", None)) == "$0.01"  # half a cent rounds up


@given(st.integers(min_value=1, max_value=2**256 - 1), st.sampled_from(["wei", "token"]))
def test_a_non_zero_amount_never_reads_as_zero_and_exact_ones_are_exact(units: int, asset: str) -> None:
    text = format_amount(units, asset)
    number = Fraction(text.split(" ")[-2].replace(",", ""))  # exact (a Decimal context has 28 digits)
    if text.startswith("< "):
        assert units < 5 * 10**11
    elif text.startswith("≈ "):
        assert abs(number * 10**18 - units) <= 5 * 10**11
    else:
        assert number * 10**18 == units
    assert Fraction(exact_amount(units, asset, symbol=False)) * 10**18 == units


def test_templates_and_details_use_it() -> None:
    html = Template('{% load amounts %}{{ a|amount:"wei" }}|{{ a|exact_amount:"wei" }}|{{ f|fiat }}').render(
        Context({"a": 600, "f": Decimal("0.001")}))
    assert html == "&lt; 0.000001 ETH|0.0000000000000006 ETH|&lt; $0.01"
    assert kv_items({"amount": "1500000000000000000", "asset": "wei", "orderId": "A-1", "tags": ["x", "y"],
                     "nested": {"b": 1}}) == [
        ("amount", "1.5 ETH"), ("asset", "wei"), ("nested", '{"b": 1}'), ("orderId", "A-1"), ("tags", "x, y")]
