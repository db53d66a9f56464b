"""AmountField: NUMERIC(78,0) in PostgreSQL, `int` in Python, never a fraction or negative."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from hub.chain.fields import MAX_AMOUNT, AmountField
from hub.chain.models import ChainTransaction

pytestmark = pytest.mark.django_db


def make(value: object) -> ChainTransaction:
    return ChainTransaction.objects.create(
        purpose="t", idempotency_key=f"k{value!r}", sender="0x" + "1" * 40, to="0x" + "2" * 40,
        value=value,
    )


@pytest.mark.parametrize("value", [0, 1, 2**53 + 1, 10**77, MAX_AMOUNT])
def test_amounts_round_trip_exactly_as_int(value: int) -> None:
    pk = make(value).pk
    loaded = ChainTransaction.objects.get(pk=pk).value
    assert type(loaded) is int and loaded == value
    assert ChainTransaction.objects.filter(value=value).count() == 1
    assert list(ChainTransaction.objects.values_list("value", flat=True)) == [value]


def test_the_column_is_numeric_78_0() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_name = %s AND column_name = 'value'", [ChainTransaction._meta.db_table])
        assert cursor.fetchone() == (78, 0)


@pytest.mark.parametrize("bad", [-1, 1.0, 0.5, Decimal("1.5"), "1e3", "-3", "1.0", True,
                                 MAX_AMOUNT + 1, Decimal("NaN")])
def test_fractions_negatives_floats_and_overflow_are_refused(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        make(bad)
    with pytest.raises(ValidationError):
        AmountField().to_python(bad)


def test_decimal_strings_and_integral_decimals_are_accepted() -> None:
    field = AmountField()
    assert field.to_python("123456789012345678901234567890") == 123456789012345678901234567890
    assert field.to_python(Decimal("42")) == 42
    assert make("7").value == 7


def test_the_field_deconstructs_without_its_fixed_precision() -> None:
    _name, path, _args, kwargs = AmountField(default=0).deconstruct()
    assert path == "hub.chain.fields.AmountField" and kwargs == {"default": 0}
