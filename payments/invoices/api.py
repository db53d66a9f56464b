from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import MerchantAPIView, body_or_error, query_choice
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.invoices import selectors, services
from payments.invoices.models import Invoice
from payments.invoices.serializers import InvoiceCreateSerializer, InvoiceSerializer


class InvoiceListView(MerchantAPIView):
    resource = "invoices"

    @extend_schema(operation_id="invoices_list", responses=list_serializer(InvoiceSerializer),
                   parameters=[*PAGINATION_PARAMETERS,
                               OpenApiParameter("status", enum=Invoice.State.values),
                               OpenApiParameter("order_id", str)])
    def get(self, request: Request) -> Response:
        rows = selectors.invoices_for_merchant(
            self.merchant_id, status=query_choice(request, "status", Invoice.State.values),
            order_id=request.query_params.get("order_id"),
        )
        return Response(paginate(request, rows, InvoiceSerializer))

    @extend_schema(operation_id="invoices_create", request=InvoiceCreateSerializer,
                   responses={201: InvoiceSerializer})
    def post(self, request: Request) -> Response:
        data = body_or_error(InvoiceCreateSerializer, request)
        invoice = services.invoice_create(merchant_id=self.merchant_id, **data)
        return Response(InvoiceSerializer(invoice).data, status=201)


class InvoiceDetailView(MerchantAPIView):
    resource = "invoices"

    @extend_schema(operation_id="invoices_retrieve", responses=InvoiceSerializer)
    def get(self, request: Request, id: str) -> Response:
        invoice = selectors.invoices_for_merchant(self.merchant_id).get(public_id=id)
        return Response(InvoiceSerializer(invoice).data)
