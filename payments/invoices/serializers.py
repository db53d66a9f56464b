from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments import conf
from payments.invoices.models import Invoice
from payments.serialization import (
    ASSET_CHOICES,
    AmountString,
    MetadataField,
    MetadataInput,
    PositiveAmountString,
    Timestamp,
)


class InvoiceSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = serializers.SerializerMethodField()
    amount = AmountString()
    asset = serializers.ChoiceField(choices=ASSET_CHOICES)
    amount_received = AmountString()
    status = serializers.ChoiceField(source="state", choices=Invoice.State.values)
    pay_to = serializers.CharField()
    description = serializers.CharField()
    order_id = serializers.CharField()
    metadata = MetadataField()
    success_url = serializers.CharField(help_text="where the checkout page links back to after payment")
    checkout_url = serializers.SerializerMethodField(
        help_text="the page to send the customer to (absolute URL)")
    payments = serializers.SerializerMethodField(
        help_text="the payments that count towards this invoice (GET /payments/{id}), oldest first")
    expires_at = Timestamp()
    late_payment_until = Timestamp()
    paid_at = Timestamp(allow_null=True)
    created = Timestamp(source="created_at")

    def get_object(self, obj: Any) -> str:
        return "invoice"

    @extend_schema_field({"type": "string", "format": "uri",
                          "example": "https://pay.example.com/pay/inv_3f9c1e0b8a7d4c2e9b6a5f10"})
    def get_checkout_url(self, obj: Invoice) -> str:
        return conf.absolute_url(reverse("payments:checkout", args=[obj.public_id]))

    @extend_schema_field({"type": "array", "items": {"type": "string", "pattern": "^pay_[0-9a-f]{24}$"}})
    def get_payments(self, obj: Invoice) -> list[str]:
        from hub.purchases.selectors import payment_public_ids

        # hub payments only: an on-chain checkout payment is no merchant-API payment object
        hub_payments = obj.payments.filter(source="hub").order_by("id")
        return payment_public_ids(list(hub_payments.values_list("payment_id", flat=True)))


class InvoiceCreateSerializer(serializers.Serializer):
    amount = PositiveAmountString()
    asset = serializers.ChoiceField(choices=ASSET_CHOICES)
    description = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    order_id = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    expires_in = serializers.IntegerField(min_value=60, max_value=30 * 24 * 3600, required=False,
                                          help_text="seconds until expiry (default 900)")
    late_payment_window = serializers.IntegerField(
        min_value=0, max_value=30 * 24 * 3600, required=False,
        help_text="seconds after expiry during which payments still count (default 86400)")
    metadata = MetadataInput(required=False)
    success_url = serializers.URLField(
        max_length=2000, required=False, default="", allow_blank=True,
        help_text="http(s) URL of the shop's page the shopper returns to after paying")

    def validate_success_url(self, value: str) -> str:
        if value and not value.lower().startswith(("https://", "http://")):
            raise serializers.ValidationError("success_url is an http or https URL")
        return value


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    return dict(InvoiceSerializer(invoice).data)
