"""Field types shared by the API's object representations."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

ASSET_CHOICES = ("wei", "token")


@extend_schema_field({"type": "string", "pattern": "^[0-9]{1,78}$", "example": "1000"})
class AmountString(serializers.Field):
    """An amount in base units as a decimal string (JSON numbers lose precision past 2^53)."""

    positive = False

    def to_representation(self, value: int) -> str:
        return str(int(value))

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, str) or not data.isdigit() or not data.isascii() or len(data) > 78:
            raise serializers.ValidationError("amounts are decimal strings of base units")
        value = int(data)
        if self.positive and value == 0:
            raise serializers.ValidationError("amounts are positive")
        if value >= 2**256:
            raise serializers.ValidationError("amount exceeds uint256")
        return value


@extend_schema_field({"type": "string", "pattern": "^[1-9][0-9]{0,76}$", "example": "1000"})
class PositiveAmountString(AmountString):
    """An amount to move: positive, below 10^77 (so always within uint256)."""

    positive = True


@extend_schema_field({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "example": "2450.50"})
class DecimalString(serializers.Field):
    """A decimal number (a fiat value, a rate) as a string, exactly as stored."""

    def to_representation(self, value: Decimal) -> str:
        return format(value, "f")


PRICE_PATTERN = r"^(0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]{0,29}(\.[0-9]{1,2})?)$"  # more than zero


@extend_schema_field({"type": "string", "pattern": PRICE_PATTERN, "maxLength": 33, "example": "19.99"})
class PriceString(serializers.Field):
    """A fiat price as a decimal string with at most 2 decimals ("19.99"); checked again (more than
    zero) by payments.fiat.parse_price."""

    def to_representation(self, value: Decimal) -> str:
        return format(value, "f")

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not re.fullmatch(PRICE_PATTERN, data):
            raise serializers.ValidationError("a decimal string with at most 2 decimals, e.g. \"19.99\"")
        return data


@extend_schema_field(OpenApiTypes.INT)
class Timestamp(serializers.Field):
    """A time as Unix seconds."""

    def to_representation(self, value: datetime) -> int:
        return int(value.timestamp())


class MetadataField(serializers.DictField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                         **kwargs)


@extend_schema_field({
    "type": "object", "maxProperties": 50,
    "additionalProperties": {"type": "string", "maxLength": 500},
    "propertyNames": {"minLength": 1, "maxLength": 40, "pattern": "^[^\\[\\]\\u0000]+$"},
    "description": "up to 50 keys of at most 40 characters (no brackets), string values of at most 500",
})
class MetadataInput(serializers.JSONField):
    """Checked by payments.metadata.metadata_clean (code metadata_invalid)."""


class FiatValueFields(serializers.Serializer):
    """The fiat value of a money movement as recorded when it happened (payments.fiat)."""

    fiat_currency = serializers.CharField(help_text="the currency of fiat_value (USD, EUR); empty when none")
    fiat_value = DecimalString(allow_null=True, help_text="the amount's fiat value then, to the cent; "
                                                          "null when no rate was known")
    fiat_rate = DecimalString(allow_null=True, help_text="fiat per whole unit of the asset used")
    fiat_rate_source = serializers.CharField(help_text="where the rate came from (hub:operator, hub:price_feed, peg)")
    fiat_rate_at = Timestamp(allow_null=True, help_text="when that rate was retrieved")


# An http(s) URL with a host name, localhost or an IPv4 address, a port 1..65535 and a path: what
# the server accepts for a webhook endpoint's URL and an invoice's success_url, and their schema's pattern.
_PORT = "(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3})"
_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
HTTP_URL_PATTERN = (
    "^https?://(localhost|([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}|"
    f"{_OCTET}(\\.{_OCTET}){{3}})(:{_PORT})?(/[A-Za-z0-9._~%!$&'()*+,;=:@-]*)*$"
)

# The same with a query and a fragment (a page a shopper returns to: `/thanks?order=1042#top`).
_QUERY_CHARS = "[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*"
PAGE_URL_PATTERN = HTTP_URL_PATTERN.removesuffix("$") + f"(\\?{_QUERY_CHARS})?(#{_QUERY_CHARS})?$"
