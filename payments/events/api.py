from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import MerchantAPIView
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.events.selectors import events_for_merchant
from payments.events.serializers import EventSerializer


class EventListView(MerchantAPIView):
    resource = "events"

    @extend_schema(operation_id="events_list", responses=list_serializer(EventSerializer),
                   parameters=[*PAGINATION_PARAMETERS, OpenApiParameter("type", str)])
    def get(self, request: Request) -> Response:
        rows = events_for_merchant(self.merchant_id, type=request.query_params.get("type"))
        return Response(paginate(request, rows, EventSerializer))


class EventDetailView(MerchantAPIView):
    resource = "events"

    @extend_schema(operation_id="events_retrieve", responses=EventSerializer)
    def get(self, request: Request, id: str) -> Response:
        return Response(EventSerializer(events_for_merchant(self.merchant_id).get(public_id=id)).data)
