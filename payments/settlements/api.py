from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import MerchantAPIView, body_or_error, query_choice
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.settlements import selectors, services
from payments.settlements.models import Settlement
from payments.settlements.serializers import SettlementCreateSerializer, SettlementSerializer


class SettlementListView(MerchantAPIView):
    resource = "settlements"

    @extend_schema(operation_id="settlements_list", responses=list_serializer(SettlementSerializer),
                   parameters=[*PAGINATION_PARAMETERS,
                               OpenApiParameter("status", enum=Settlement.State.values)])
    def get(self, request: Request) -> Response:
        rows = selectors.settlements_for_merchant(
            self.merchant_id, status=query_choice(request, "status", Settlement.State.values))
        return Response(paginate(request, rows, SettlementSerializer))

    @extend_schema(operation_id="settlements_create", request=SettlementCreateSerializer,
                   responses={201: SettlementSerializer})
    def post(self, request: Request) -> Response:
        data = body_or_error(SettlementCreateSerializer, request)
        settlement = services.settlement_execute(merchant_id=self.merchant_id, asset=data["asset"],
                                                 amount=data.get("amount"))
        return Response(SettlementSerializer(settlement).data, status=201)


class SettlementDetailView(MerchantAPIView):
    resource = "settlements"

    @extend_schema(operation_id="settlements_retrieve", responses=SettlementSerializer)
    def get(self, request: Request, id: str) -> Response:
        settlement = selectors.settlements_for_merchant(self.merchant_id).get(public_id=id)
        return Response(SettlementSerializer(settlement).data)
