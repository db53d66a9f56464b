from __future__ import annotations

import re
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments import conf
from payments.fiat import CURRENCIES
from payments.invoices.models import Invoice
from payments.invoices.selectors import invoice_excess, invoice_overpaid, invoice_paid_late
from payments.serialization import (
    ASSET_CHOICES,
    PAGE_URL_PATTERN,
    AmountString,
    DecimalString,
    MetadataField,
    MetadataInput,
    PositiveAmountString,
    PriceString,
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
    currency = serializers.CharField(
        allow_null=True, source="currency_or_none",
        help_text="the fiat currency the invoice is priced in (USD, EUR), null when priced in the asset")
    price = DecimalString(allow_null=True,
                          help_text="the fiat price (decimal string), null when priced in the asset")
    rate = DecimalString(allow_null=True,
                         help_text="fiat per whole unit of the asset (per ETH, per SPD) locked at creation: "
                                   "amount = price / rate, rounded up to a base unit")
    rate_source = serializers.CharField(help_text="where the rate came from (hub:operator, hub:price_feed, peg; "
                                                  "*SPOKE_FIAT_EUR_PER_USD when converted from dollars)")
    rate_at = Timestamp(allow_null=True, help_text="when the locked rate was retrieved")
    customer_email = serializers.CharField(help_text="where the receipt is mailed (empty: none)")
    amount_overpaid = serializers.SerializerMethodField(
        help_text="base units received beyond `amount` (credited to the balance, refundable)")
    amount_excess = serializers.SerializerMethodField(
        help_text="base units POST /invoices/{id}/refund_excess would refund now: the overpaid part, or "
                  "everything received when the invoice expired unpaid; less excess refunds already made")
    paid_late = serializers.SerializerMethodField(
        help_text="true when a payment counted towards the invoice arrived after it expired")
    receipt_url = serializers.SerializerMethodField(
        help_text="the public receipt page (unguessable URL), null until a payment arrived")
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

    @extend_schema_field({"type": "string", "pattern": "^[0-9]{1,78}$", "example": "0"})
    def get_amount_overpaid(self, obj: Invoice) -> str:
        return str(invoice_overpaid(obj))

    @extend_schema_field({"type": "string", "pattern": "^[0-9]{1,78}$", "example": "0"})
    def get_amount_excess(self, obj: Invoice) -> str:
        return str(invoice_excess(obj))

    def get_paid_late(self, obj: Invoice) -> bool:
        return invoice_paid_late(obj)

    @extend_schema_field({"type": ["string", "null"], "format": "uri",
                          "example": "https://pay.example.com/receipts/inv_3f9c1e0b8a7d4c2e9b6a5f10/3q2-7w"})
    def get_receipt_url(self, obj: Invoice) -> str | None:
        if not obj.receipt_token or int(obj.amount_received) == 0:
            return None
        return conf.absolute_url(reverse("payments:receipt", args=[obj.public_id, obj.receipt_token]))

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


@extend_schema_field({"type": "string", "maxLength": 2000, "pattern": f"^$|{PAGE_URL_PATTERN}",
                      "example": "https://shop.example/order/1042/thanks"})
class SuccessUrl(serializers.URLField):
    """http(s) URL with a host (the same form as a webhook endpoint's URL); empty: no return link."""


class InvoiceCreateSerializer(serializers.Serializer):
    amount = PositiveAmountString(
        required=False, help_text="base units of `asset`; or give `currency` and `price` instead")
    asset = serializers.ChoiceField(choices=ASSET_CHOICES, help_text="what the customer pays in")
    currency = serializers.ChoiceField(
        choices=CURRENCIES, required=False,
        help_text="price the invoice in this fiat currency (with `price`, without `amount`): the amount "
                  "is converted at the current rate and the rate is locked for the invoice's lifetime")
    price = PriceString(
        required=False,
        help_text="the fiat price as a decimal string with at most 2 decimals, e.g. \"19.99\"")
    customer_email = serializers.EmailField(
        max_length=254, required=False, default="", allow_blank=True,
        help_text="the customer's email address: the receipt is mailed there once the invoice is paid")
    description = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    order_id = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)
    expires_in = serializers.IntegerField(min_value=60, max_value=30 * 24 * 3600, required=False,
                                          help_text="seconds until expiry (default 900)")
    late_payment_window = serializers.IntegerField(
        min_value=0, max_value=30 * 24 * 3600, required=False,
        help_text="seconds after expiry during which payments still count (default 86400)")
    metadata = MetadataInput(required=False)
    success_url = SuccessUrl(
        max_length=2000, required=False, default="", allow_blank=True,
        help_text="http(s) URL of the shop's page the shopper returns to after paying")

    def validate_success_url(self, value: str) -> str:
        if value and not re.fullmatch(PAGE_URL_PATTERN, value):
            raise serializers.ValidationError("success_url is an http or https URL")
        return value


def invoice_data(invoice: Invoice) -> dict[str, Any]:
    return dict(InvoiceSerializer(invoice).data)
