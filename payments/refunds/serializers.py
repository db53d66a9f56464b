from __future__ import annotations

from typing import Any

from rest_framework import serializers

from payments.refunds.models import Refund
from payments.serialization import (
    ASSET_CHOICES,
    AmountString,
    MetadataField,
    MetadataInput,
    PositiveAmountString,
    Timestamp,
)


class RefundSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = serializers.SerializerMethodField()
    payment = serializers.SerializerMethodField()

    def get_payment(self, obj: Refund) -> str | None:
        from payments.purchases.selectors import payment_public_id

        annotated = getattr(obj, "payment_public_id", None)  # lists annotate it: no query per row
        return annotated if annotated is not None else payment_public_id(obj.payment_id)
    recipient = serializers.CharField()
    amount = AmountString()
    asset = serializers.ChoiceField(choices=ASSET_CHOICES)
    reason = serializers.ChoiceField(choices=Refund.Reason.values)
    status = serializers.ChoiceField(source="state", choices=Refund.State.values)
    failure_reason = serializers.CharField()
    metadata = MetadataField()
    created = Timestamp(source="created_at")
    completed_at = Timestamp(allow_null=True)

    def get_object(self, obj: Any) -> str:
        return "refund"


class RefundCreateSerializer(serializers.Serializer):
    payment = serializers.RegexField(r"^pay_[0-9a-f]{24}$", help_text="the payment's id (pay_…)")
    amount = PositiveAmountString(required=False, help_text="default: what is left of the payment")
    reason = serializers.ChoiceField(choices=Refund.Reason.values, required=False,
                                     default=Refund.Reason.REQUESTED_BY_CUSTOMER)
    metadata = MetadataInput(required=False)


def refund_data(refund: Refund) -> dict[str, Any]:
    return dict(RefundSerializer(refund).data)
