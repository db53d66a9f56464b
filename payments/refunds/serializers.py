from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from hub.purchases.selectors import payment_public_id
from payments.refunds.models import Refund
from payments.serialization import (
    ASSET_CHOICES,
    AmountString,
    FiatValueFields,
    MetadataField,
    MetadataInput,
    PositiveAmountString,
    Timestamp,
)
from payments.settlements.serializers import SettlementTransactionSerializer, transaction_data


class RefundLinkSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="the link (GET /links/{id})")
    url = serializers.CharField(allow_null=True, help_text=(
        "the link to hand to the customer, with its secret; only in the answer that created the "
        "refund (null afterwards and in replays: Spoke keeps only the secret's hash)"))
    secret = serializers.CharField(allow_null=True, help_text="as url: shown once")


class RefundSerializer(FiatValueFields):
    id = serializers.CharField(source="public_id")
    object = serializers.SerializerMethodField()
    payment = serializers.SerializerMethodField()

    def get_payment(self, obj: Refund) -> str | None:
        annotated = getattr(obj, "payment_public_id", None)  # lists annotate it: no query per row
        return annotated if annotated is not None else payment_public_id(obj.payment_id)
    recipient = serializers.CharField(help_text=(
        "who is paid back: the payer, or for a payment made on chain through the checkout the "
        "refund destination its payment intent named"))
    amount = AmountString()
    asset = serializers.ChoiceField(choices=ASSET_CHOICES)
    reason = serializers.ChoiceField(choices=Refund.Reason.values)
    status = serializers.ChoiceField(source="state", choices=Refund.State.values)
    failure_reason = serializers.CharField()
    metadata = MetadataField()
    method = serializers.SerializerMethodField(help_text=(
        "how it was paid back: channel (a payment into the payer's channel), link (a link "
        "payment, when the channel could not receive it), onchain (a payment made on chain "
        "through the checkout is paid back on chain to its refund destination, `recipient`; "
        "pending until the transaction is confirmed), or null while pending"))
    link = serializers.SerializerMethodField(help_text="the link, when method is link")
    transaction = serializers.SerializerMethodField(help_text=(
        "the on-chain payment back, when method is onchain (its state and hash), else null"))
    created = Timestamp(source="created_at")
    completed_at = Timestamp(allow_null=True)

    def get_object(self, obj: Any) -> str:
        return "refund"

    def _execution(self, obj: Refund) -> tuple[str, str] | None:
        from hub.purchases.selectors import refund_execution

        return refund_execution(obj.public_id)

    @extend_schema_field({"type": ["string", "null"], "enum": ["channel", "link", "onchain", None]})
    def get_method(self, obj: Refund) -> str | None:
        if obj.chain_transaction_id is not None:
            return "onchain"
        execution = self._execution(obj)
        return execution[0] if execution else None

    @extend_schema_field(SettlementTransactionSerializer(allow_null=True))
    def get_transaction(self, obj: Refund) -> dict[str, Any] | None:
        return transaction_data(obj.chain_transaction) if obj.chain_transaction_id is not None else None

    @extend_schema_field(RefundLinkSerializer(allow_null=True))
    def get_link(self, obj: Refund) -> dict[str, Any] | None:
        execution = self._execution(obj)
        if not execution or not execution[1]:
            return None
        return {"id": execution[1], "url": None, "secret": None}


class RefundCreateSerializer(serializers.Serializer):
    payment = serializers.RegexField(r"^pay_[0-9a-f]{24}$", help_text="the payment's id (pay_…)")
    amount = PositiveAmountString(required=False, help_text="default: what is left of the payment")
    reason = serializers.ChoiceField(choices=Refund.Reason.values, required=False,
                                     default=Refund.Reason.REQUESTED_BY_CUSTOMER)
    metadata = MetadataInput(required=False)


def refund_data(refund: Refund) -> dict[str, Any]:
    return dict(RefundSerializer(refund).data)
