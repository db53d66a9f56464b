from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import MerchantAPIView, body_or_error, query_choice
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.refunds import services
from payments.refunds.models import Refund
from payments.refunds.serializers import RefundCreateSerializer, RefundSerializer


def _refunds(merchant_id: int):  # type: ignore[no-untyped-def]
    return Refund.objects.filter(merchant_id=merchant_id).order_by("-id")


class RefundListView(MerchantAPIView):
    resource = "refunds"

    @extend_schema(operation_id="refunds_list", responses=list_serializer(RefundSerializer),
                   parameters=[*PAGINATION_PARAMETERS,
                               OpenApiParameter("status", enum=Refund.State.values),
                               OpenApiParameter("payment", str, pattern=r"^[0-9]{1,18}$")])
    def get(self, request: Request) -> Response:
        rows = _refunds(self.merchant_id)
        status = query_choice(request, "status", Refund.State.values)
        if status:
            rows = rows.filter(state=status)
        payment = request.query_params.get("payment")
        if payment is not None:
            if not payment.isdigit() or not payment.isascii() or len(payment) > 18:
                return Response(paginate(request, rows.none(), RefundSerializer))
            rows = rows.filter(payment_id=int(payment))
        return Response(paginate(request, rows, RefundSerializer))

    @extend_schema(operation_id="refunds_create", request=RefundCreateSerializer,
                   responses={201: RefundSerializer})
    def post(self, request: Request) -> Response:
        data = body_or_error(RefundCreateSerializer, request)
        refund = services.refund_create(
            merchant_id=self.merchant_id, payment_id=int(data["payment"]), amount=data.get("amount"),
            reason=data["reason"], metadata=data.get("metadata"),
        )
        return Response(RefundSerializer(refund).data, status=201)


class RefundDetailView(MerchantAPIView):
    resource = "refunds"

    @extend_schema(operation_id="refunds_retrieve", responses=RefundSerializer)
    def get(self, request: Request, id: str) -> Response:
        return Response(RefundSerializer(_refunds(self.merchant_id).get(public_id=id)).data)
