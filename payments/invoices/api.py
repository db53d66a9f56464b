from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from hub.purchases.selectors import payment_public_id_of
from payments.api.base import MerchantAPIView, body_or_error, query_choice
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.invoices import selectors, services
from payments.invoices.models import Invoice
from payments.invoices.serializers import InvoiceCreateSerializer, InvoiceSerializer
from payments.refunds.models import Refund
from payments.refunds.serializers import RefundSerializer


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


class RefundExcessResultSerializer(serializers.Serializer):
    object = serializers.CharField(help_text='always "excess_refund"')
    invoice = InvoiceSerializer(help_text="the invoice after the refund (amount_excess is now 0)")
    refunds = RefundSerializer(many=True, help_text="the refunds made, newest payment first")


class InvoiceRefundExcessView(MerchantAPIView):
    resource = "refunds"

    @extend_schema(
        operation_id="invoices_refund_excess", request=None, responses={201: RefundExcessResultSerializer},
        description=(
            "Refund an invoice's excess to the payers in one call: what it received beyond its "
            "amount, or everything it received when it expired without being paid in full "
            "(`amount_excess` on the invoice). One refund per payment, newest payment first, through "
            "the refunds service (refund.created events; the refunds are paid back off-chain, like "
            "POST /refunds, and a payer who cannot receive now is retried by the refund sweep; a "
            "payment made on chain through the checkout is paid back on chain to the refund "
            "destination of its intent, `method` onchain, succeeded once the transaction is "
            "confirmed). "
            "Refused with `invoice_no_excess` (409) when there is nothing left to refund, so repeating "
            "the request never refunds twice; send an Idempotency-Key to get the first answer back."))
    def post(self, request: Request, id: str) -> Response:
        invoice, refunds = services.invoice_refund_excess(merchant_id=self.merchant_id, invoice_id=id)
        rows = Refund.objects.filter(pk__in=[r.pk for r in refunds]).annotate(
            payment_public_id=payment_public_id_of()).order_by("-payment_id")
        return Response({"object": "excess_refund", "invoice": InvoiceSerializer(invoice).data,
                         "refunds": RefundSerializer(rows, many=True).data}, status=201)
