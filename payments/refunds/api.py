from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from hub.purchases.selectors import payment_pk, payment_public_id_of
from payments.api.base import MerchantAPIView, body_or_error, query_choice
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.errors import PaymentsError
from payments.refunds import services
from payments.refunds.execution import refund_execute
from payments.refunds.models import Refund
from payments.refunds.serializers import RefundCreateSerializer, RefundSerializer


def _refunds(merchant_id: int) -> QuerySet[Refund]:
    return (Refund.objects.filter(merchant_id=merchant_id)
            .annotate(payment_public_id=payment_public_id_of()).order_by("-id"))


class RefundListView(MerchantAPIView):
    resource = "refunds"

    @extend_schema(operation_id="refunds_list", responses=list_serializer(RefundSerializer),
                   parameters=[*PAGINATION_PARAMETERS,
                               OpenApiParameter("status", enum=Refund.State.values),
                               OpenApiParameter("payment", str, pattern=r"^pay_[0-9a-f]{24}$")])
    def get(self, request: Request) -> Response:
        rows = _refunds(self.merchant_id)
        status = query_choice(request, "status", Refund.State.values)
        if status:
            rows = rows.filter(state=status)
        payment = request.query_params.get("payment")
        if payment is not None:
            pk = payment_pk(payment)
            if pk is None:
                return Response(paginate(request, rows.none(), RefundSerializer))
            rows = rows.filter(payment_id=pk)
        return Response(paginate(request, rows, RefundSerializer))

    @extend_schema(operation_id="refunds_create", request=RefundCreateSerializer,
                   responses={201: RefundSerializer})
    def post(self, request: Request) -> Response:
        data = body_or_error(RefundCreateSerializer, request)
        pk = payment_pk(data["payment"])
        if pk is None:
            raise PaymentsError("resource_missing", "no such payment", param="payment")
        refund = services.refund_create(
            merchant_id=self.merchant_id, payment_id=pk,
            amount=data.get("amount"),
            reason=data["reason"], metadata=data.get("metadata"),
        )
        # Paid back at once, off-chain; when the payer's channel cannot receive it, as a link
        # whose secret and URL this response carries once.
        outcome = refund_execute(refund_id=refund.public_id, allow_link=True)
        refund.refresh_from_db()
        body = dict(RefundSerializer(refund).data)  # the same fields as GET /refunds/{id}
        if outcome.link is not None:
            body["link"] = {"id": outcome.link.public_id, "url": outcome.link.url(request),
                            "secret": outcome.link.secret}
        response = Response(body, status=201)
        if body["link"] is not None:
            # a refund link's secret is shown once: the copy kept for replays omits it
            response.replay_data = {  # type: ignore[attr-defined]
                **body, "link": {**body["link"], "url": None, "secret": None}}
        return response


class RefundDetailView(MerchantAPIView):
    resource = "refunds"

    @extend_schema(operation_id="refunds_retrieve", responses=RefundSerializer)
    def get(self, request: Request, id: str) -> Response:
        return Response(RefundSerializer(_refunds(self.merchant_id).get(public_id=id)).data)
