"""The payout settings object: where settlements go and when they happen automatically."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments.merchants.models import Merchant
from payments.serialization import AmountString, PositiveAmountString


class PayoutSettingsSerializer(serializers.Serializer):
    object = serializers.SerializerMethodField()
    payout_address = serializers.SerializerMethodField(
        help_text="where settlements are paid on-chain (lower-case 0x address); null until set")
    threshold_wei = AmountString(source="settlement_threshold_wei", allow_null=True, help_text=(
        "settle ETH automatically when the available balance reaches this (wei); null: no threshold"))
    threshold_token = AmountString(source="settlement_threshold_token", allow_null=True, help_text=(
        "settle the token automatically when the available balance reaches this; null: no threshold"))
    schedule = serializers.ChoiceField(source="settlement_schedule",
                                       choices=Merchant.SettlementSchedule.values,
                                       help_text="also settle everything available daily or weekly")

    @extend_schema_field({"type": "string", "enum": ["payout_settings"]})
    def get_object(self, obj: Any) -> str:
        return "payout_settings"

    @extend_schema_field({"type": ["string", "null"], "pattern": "^0x[0-9a-f]{40}$",
                          "example": "0x5b38da6a701c568545dcfcb03fcb875f56beddc4"})
    def get_payout_address(self, obj: Merchant) -> str | None:
        return obj.payout_address or None


@extend_schema_field({"type": "string", "pattern": "^0x([0-9a-f]{40}|[0-9A-F]{40})$",
                      "example": "0x5b38da6a701c568545dcfcb03fcb875f56beddc4",
                      "description": "a 0x address in one case; an EIP-55 checksummed (mixed-case) "
                                     "address is accepted too when its checksum is right"})
class AddressInput(serializers.CharField):
    """A 0x address; mixed case must carry a valid EIP-55 checksum (checked by the service)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=42, **kwargs)


class PayoutSettingsUpdateSerializer(serializers.Serializer):
    payout_address = AddressInput(required=False, help_text="the new payout address")
    threshold_wei = PositiveAmountString(required=False, allow_null=True, help_text="null removes it")
    threshold_token = PositiveAmountString(required=False, allow_null=True, help_text="null removes it")
    schedule = serializers.ChoiceField(choices=Merchant.SettlementSchedule.values, required=False)
