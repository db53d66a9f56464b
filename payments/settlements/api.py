from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import MerchantAPIView, body_or_error, query_choice
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.merchants.models import Merchant
from payments.merchants.serializers import PayoutSettingsSerializer, PayoutSettingsUpdateSerializer
from payments.merchants.services import payout_settings_update_by_key
from payments.settlements import selectors, services
from payments.settlements.models import Settlement
from payments.settlements.serializers import (
    SettlementCreateSerializer,
    SettlementReportSerializer,
    SettlementSerializer,
    settlement_report_data,
)


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


class SettlementReportView(MerchantAPIView):
    resource = "settlements"

    @extend_schema(
        operation_id="settlements_report", responses=SettlementReportSerializer,
        description=(
            "The settlement's itemised report for the merchant's books: every payment received and "
            "refund paid in its asset since the previous settlement of that asset, the platform fee "
            "(none is charged: a zero line), the payout itself and the balance change, each with its "
            "fiat value as recorded when it happened. The amounts add up to zero. The dashboard "
            "offers the same lines as CSV."))
    def get(self, request: Request, id: str) -> Response:
        settlement = selectors.settlements_for_merchant(self.merchant_id).get(public_id=id)
        return Response(settlement_report_data(settlement, selectors.settlement_report(settlement)))


class PayoutSettingsView(MerchantAPIView):
    """Where settlements go and when they run automatically. Writing needs a key that may write
    settlements (a secret key, or a restricted key with `settlements: write`): the same power as
    requesting a settlement."""

    resource = "settlements"

    @extend_schema(operation_id="payout_settings_retrieve", responses=PayoutSettingsSerializer,
                   description="The payout address and the automatic settlement rules.")
    def get(self, request: Request) -> Response:
        return Response(PayoutSettingsSerializer(Merchant.objects.get(pk=self.merchant_id)).data)

    @extend_schema(operation_id="payout_settings_update", request=PayoutSettingsUpdateSerializer,
                   responses=PayoutSettingsSerializer,
                   description=(
                       "Change any of the payout address, the thresholds (`null` removes one) and "
                       "the schedule; fields not sent keep their value. Every change is audited "
                       "with the key as its actor and announced by a `payout_settings.updated` "
                       "event; a new payout address is also mailed to every owner. The same "
                       "constraints as the dashboard: a checksummed or lower-case address, "
                       "positive thresholds, schedule none, daily or weekly."))
    def post(self, request: Request) -> Response:
        data = body_or_error(PayoutSettingsUpdateSerializer, request)
        merchant = payout_settings_update_by_key(api_key=request.auth, request=request, **data)
        return Response(PayoutSettingsSerializer(merchant).data)
