"""The payments a merchant received (the lead's `payments.purchases.models.Payment`), read-only.

A payment is the merchant's when its recipient is one of the merchant's receiving addresses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import MerchantAPIView
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.errors import PaymentsError
from payments.merchants.selectors import merchant_addresses
from payments.purchases.models import Payment
from payments.serialization import AmountString, Timestamp


class PaymentSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id", help_text="pay_ and 24 random hex characters")
    object = serializers.SerializerMethodField()
    purchase = serializers.CharField(source="purchase_id", allow_null=True)
    sender = serializers.CharField()
    recipient = serializers.CharField()
    amount_wei = AmountString()
    amount_token = AmountString()
    type = serializers.CharField()
    status = serializers.CharField()
    meta = serializers.DictField(allow_null=True)
    created = Timestamp(source="created_at")

    def get_object(self, obj: Any) -> str:
        return "payment"


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
