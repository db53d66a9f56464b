"""The payments a merchant received (the lead's `hub.purchases.models.Payment`), read-only.

A payment is the merchant's when its recipient is one of the merchant's receiving addresses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from hub.purchases.models import Payment
from payments import conf
from payments.api.base import MerchantAPIView
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.errors import PaymentsError
from payments.merchants.selectors import merchant_addresses
from payments.received.selectors import receipt_path
from payments.serialization import AmountString, FiatValueFields, Timestamp


class PaymentSerializer(FiatValueFields):
    """A payment that reached one of the merchant's receiving addresses, with its fiat value at
    the time it was paid in the books currency (`payments.received`: empty fiat fields for a
    payment that is not completed, or recorded before those values were kept)."""

    id = serializers.CharField(source="public_id", help_text="pay_ and 24 random hex characters")
    object = serializers.SerializerMethodField()
    purchase = serializers.CharField(source="purchase_id", allow_null=True,
                                     help_text="the hub purchase it was part of")
    invoice = serializers.SerializerMethodField(
        help_text="the invoice it counts towards (GET /invoices/{id}), or null")
    sender = serializers.CharField(help_text="the payer's address")
    recipient = serializers.CharField(help_text="your receiving address that got it")
    amount_wei = AmountString(help_text="ETH paid, in wei")
    amount_token = AmountString(help_text="tokens paid, in base units")
    type = serializers.ChoiceField(choices=Payment.Type.values, help_text=(
        "how it was paid: PT_CHANNEL (channel to channel), PT_CUSTODIAL (to your custodial "
        "balance), PT_LINK, PT_OPTIMISTIC (held until collateral), PT_THREAD, PT_CHECKOUT (an "
        "invoice paid on chain through the Checkout contract; the hub holds it in your custodial "
        "balance)"))
    status = serializers.ChoiceField(choices=Payment.Status.values, help_text=(
        "completed (you have it), pending (optimistic, waiting for collateral), refunded "
        "(optimistic, expired and returned)"))
    meta = serializers.DictField(allow_null=True, help_text="the payer's metadata")
    receipt_url = serializers.SerializerMethodField(help_text=(
        "the payment's public receipt page (unguessable URL) to hand to the payer, or null for a "
        "payment without a recorded value (not completed, or from before receipts existed)"))
    created = Timestamp(source="created_at")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        from payments.received.models import ReceivedPayment

        record = ReceivedPayment.objects.filter(payment_id=instance.pk).first()
        data = super().to_representation(_WithFiat(instance, record if record is not None else _NO_FIAT))
        path = receipt_path(instance.public_id, record)
        data["receipt_url"] = conf.absolute_url(path) if path else None
        return data

    @extend_schema_field({"type": ["string", "null"], "format": "uri", "example":
                          "https://pay.example.com/receipts/payments/pay_5b1e0c9d8a7f6e5d4c3b2a19/3q2-7w"})
    def get_receipt_url(self, obj: Any) -> str | None:
        return None  # filled in by to_representation, which has the recorded row

    @extend_schema_field({"type": "string", "enum": ["payment"]})
    def get_object(self, obj: Any) -> str:
        return "payment"

    @extend_schema_field({"type": ["string", "null"], "pattern": "^inv_[0-9a-f]{24}$"})
    def get_invoice(self, obj: Any) -> str | None:
        from payments.invoices.models import InvoicePayment

        return (InvoicePayment.objects.filter(source=InvoicePayment.Source.HUB, payment_id=obj.pk)
                .values_list("invoice__public_id", flat=True).first())


class _NoFiat:
    fiat_currency = ""
    fiat_value = fiat_rate = fiat_rate_at = None
    fiat_rate_source = ""


_NO_FIAT = _NoFiat()
_FIAT_FIELDS = frozenset(FiatValueFields().fields)


class _WithFiat:
    """The payment, its fiat fields read from its recorded row."""

    def __init__(self, payment: Any, record: Any) -> None:
        self._payment, self._record = payment, record

    def __getattr__(self, name: str) -> Any:
        return getattr(self._record if name in _FIAT_FIELDS else self._payment, name)


def payments_for_merchant(merchant_id: int) -> QuerySet[Any] | None:
    return Payment.objects.filter(recipient__in=merchant_addresses(merchant_id)).order_by("-pk")


UNIX_SECONDS = {"type": "integer", "minimum": 0, "maximum": 99_999_999_999}


class PaymentListView(MerchantAPIView):
    resource = "payments"

    @extend_schema(operation_id="payments_list", responses=list_serializer(PaymentSerializer),
                   parameters=[*PAGINATION_PARAMETERS, OpenApiParameter("type", str),
                               OpenApiParameter("sender", str), OpenApiParameter("purchase", str),
                               OpenApiParameter("created_gte", UNIX_SECONDS, description="Unix seconds"),
                               OpenApiParameter("created_lt", UNIX_SECONDS, description="Unix seconds")])
    def get(self, request: Request) -> Response:
        rows = payments_for_merchant(self.merchant_id)
        if rows is None:
            return Response({"object": "list", "url": request.path, "has_more": False, "data": []})
        params = request.query_params
        if params.get("type"):
            rows = rows.filter(type=params["type"])
        if params.get("sender"):
            rows = rows.filter(sender=params["sender"].lower())
        if params.get("purchase"):
            rows = rows.filter(purchase_id=params["purchase"])
        for name, lookup in (("created_gte", "created_at__gte"), ("created_lt", "created_at__lt")):
            if params.get(name) is not None:
                raw = params[name]
                if not raw.isdigit() or not raw.isascii() or len(raw) > 11:
                    raise PaymentsError("parameter_invalid", f"{name} is Unix seconds", param=name)
                rows = rows.filter(**{lookup: datetime.fromtimestamp(int(raw), tz=UTC)})
        return Response(paginate(request, rows, PaymentSerializer))


class PaymentDetailView(MerchantAPIView):
    resource = "payments"

    @extend_schema(operation_id="payments_retrieve", responses=PaymentSerializer)
    def get(self, request: Request, id: str) -> Response:
        rows = payments_for_merchant(self.merchant_id)
        if rows is None:
            raise PaymentsError("resource_missing", "no such payment")
        return Response(PaymentSerializer(rows.get(public_id=id)).data)
