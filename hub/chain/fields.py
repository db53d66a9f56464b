"""The one money column: NUMERIC(78, 0), uint256-sized, and Python always sees `int`.

Other apps import `AmountField` from here. Fractions and negative amounts are refused at every
door (assignment through forms/clean, saving, loading), because a silently rounded or negative
amount is a bug that would otherwise reach the ledger."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.core import exceptions
from django.db import models
from django.db.models.query_utils import DeferredAttribute

MAX_AMOUNT = 2**256 - 1


def _as_amount(value: Any) -> int:
    """`value` as a non-negative integer, or ValueError/TypeError. Floats are never accepted."""
    if isinstance(value, bool) or isinstance(value, float):
        raise TypeError(f"amounts are integers, not {type(value).__name__}")
    if isinstance(value, int):
        result = value
    elif isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise ValueError("amounts are whole base units")
        result = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text.isdigit():  # decimal strings only: no sign, no point, no exponent
            raise ValueError("amounts are non-negative decimal integer strings")
        result = int(text)
    else:
        raise TypeError(f"amounts are integers, not {type(value).__name__}")
    if result < 0:
        raise ValueError("amounts are never negative")
    if result > MAX_AMOUNT:
        raise ValueError("amount exceeds uint256")
    return result


class _AmountAttribute(DeferredAttribute):
    """Converts on assignment, so `row.value = "7"` reads back as 7 and a bad value fails at once."""

    def __set__(self, instance: models.Model, value: Any) -> None:
        if value is not None and not hasattr(value, "resolve_expression"):
            value = _as_amount(value)
        instance.__dict__[self.field.attname] = value


class AmountField(models.DecimalField):
    """NUMERIC(78, 0) holding a non-negative integer amount in base units (wei, token units)."""

    # django-stubs reads these to type model attributes: assign int (or its decimal string), get int.
    _pyi_private_set_type: int | str | Decimal
    _pyi_private_get_type: int  # type: ignore[assignment]

    description = "Non-negative integer amount (NUMERIC(78,0))"
    descriptor_class = _AmountAttribute

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["max_digits"] = 78
        kwargs["decimal_places"] = 0
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("max_digits", None)
        kwargs.pop("decimal_places", None)
        return name, path, args, kwargs

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> int | None:
        if value is None:
            return None
        return _as_amount(Decimal(value))

    def to_python(self, value: Any) -> int | None:
        if value is None:
            return None
        try:
            return _as_amount(value)
        except (TypeError, ValueError, InvalidOperation):
            raise exceptions.ValidationError(
                "Enter a non-negative whole number of base units.", code="invalid_amount"
            ) from None

    def get_prep_value(self, value: Any) -> Any:
        if value is None or hasattr(value, "as_sql") or hasattr(value, "resolve_expression"):
            return value
        return Decimal(_as_amount(value))

    @staticmethod
    def fast_prep(value: Any) -> Any:
        """ops/rows.py's shortcut for `get_db_prep_save`: an int the descriptor has checked (or
        any in range) as its exact Decimal; NotImplemented sends anything else the long way."""
        if value is None:
            return None
        if type(value) is int and 0 <= value <= MAX_AMOUNT:
            return Decimal(value)
        return NotImplemented

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if not prepared:
            value = self.get_prep_value(value)
        return value  # already an exact integral Decimal; no quantizing context needed
