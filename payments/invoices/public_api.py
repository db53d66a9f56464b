"""`GET /api/v1/public/invoices/<id>`: what a wallet needs to pay an invoice, with no API key:
how much is still due, in which asset, to which address, and what to attach to the payment.
Nothing private of the merchant (no order id, metadata, customer data or payments list). Rate
limited per client address (the merchant API's token bucket)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from payments import conf
from payments.api.errors import exception_handler
from payments.api.ratelimit import take_token
from payments.errors import PaymentsError
from payments.invoices.models import Invoice
from payments.invoices.selectors import invoice_public

PAYABLE = (Invoice.State.OPEN, Invoice.State.PARTIALLY_PAID)


class PerClientThrottle(BaseThrottle):
    def allow_request(self, request: Request, view: Any) -> bool:
        ip = request.META.get("REMOTE_ADDR") or "unknown"
        allowed, self._wait = take_token(f"public:{ip}", rate=conf.API_RATE_PER_SECOND,
                                         burst=conf.API_RATE_BURST)
        return allowed

    def wait(self) -> float | None:
        return getattr(self, "_wait", None)


def payable_state(invoice: Invoice, *, checkout_url: str) -> dict[str, Any]:
    remaining = max(0, int(invoice.amount) - int(invoice.amount_received))
    payable = invoice.state in PAYABLE and invoice.expires_at > timezone.now() and remaining > 0
    return {
        "object": "invoice_payable",
        "id": invoice.public_id,
        "status": invoice.state,
        "payable": payable,
        "asset": invoice.asset,
        "amount": str(invoice.amount),
        "amount_received": str(invoice.amount_received),
        "amount_remaining": str(remaining),
        "pay_to": invoice.pay_to,
        "expires_at": int(invoice.expires_at.timestamp()),
        "checkout_url": checkout_url,
        "chain_id": settings.CHAIN_ID,
        "token_address": settings.TOKEN_ADDRESS or None,
        # a hub payment (PT_CHANNEL or PT_CUSTODIAL) to pay_to with this meta credits the invoice
        "payment_meta": {"invoiceId": invoice.public_id},
        "payment_types": ["PT_CHANNEL", "PT_CUSTODIAL"],
    }


class PublicInvoiceView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes = [PerClientThrottle]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self) -> Any:
        return exception_handler

    @extend_schema(
        operation_id="public_invoice_retrieve", tags=["Public"], auth=[],
        summary="What a wallet needs to pay an invoice (no API key)",
        description=(
            "The invoice's payable state: `amount_remaining` of `asset` to `pay_to`, with "
            "`payment_meta` attached to the hub payment (`meta.invoiceId`). Any channel "
            "payment type is credited; partial payments keep the invoice open with the "
            "remaining amount; an overpayment is credited and the invoice turns `overpaid`."),
        responses={200: OpenApiResponse(description="the payable state"),
                    404: OpenApiResponse(description="no such invoice")},
    )
    def get(self, request: Request, id: str) -> Response:
        invoice = invoice_public(id)
        if invoice is None:
            raise PaymentsError("resource_missing", f"no invoice {id}", param="id")
        url = request.build_absolute_uri(reverse("payments:checkout", args=[invoice.public_id]))
        return Response(payable_state(invoice, checkout_url=url))
