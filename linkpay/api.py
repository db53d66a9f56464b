"""`/api/v1/links`: a merchant's links, following the merchant API's conventions (API-key auth,
resource `links`, Idempotency-Key on POST, cursor pagination, one error shape).

The creation response is the only place a link's secret ever appears. The copy of that
response kept for Idempotency-Key replays has the secret, URL and QR code taken out (the
database never holds a secret), so a replay answers with `secret: null`."""

from __future__ import annotations

from django.http import HttpRequest
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from linkpay import conf, selectors, services
from linkpay.errors import LinkError
from linkpay.models import Link
from linkpay.serializers import (
    LinkCreatedSerializer,
    LinkCreateSerializer,
    LinkSerializer,
    link_path,
)
from ops.qr import qr_data_uri
from payments.api.base import MerchantAPIView, body_or_error, query_choice
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.errors import PaymentsError
from payments.refunds.execution import RefundLink

ONCE_ONLY_FIELDS = ("secret", "url", "qr_code")


def link_url(request: HttpRequest, link: Link, secret: str) -> str:
    base = conf.LINK_PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")
    return f"{base}{link_path(link)}#{secret}"


def issue_refund_link(*, merchant_id: int, amount: int, asset: str, note: str) -> RefundLink:
    """A refund the payer's channel cannot take now, paid into a link from the merchant's
    custodial balance (registered with the refunds in LinkpayConfig.ready())."""
    issued = services.link_create_custodial(merchant_id=merchant_id, amount=amount, asset=asset,
                                            note=note)
    return RefundLink(public_id=issued.link.public_id, secret=issued.secret,
                      url=lambda request: link_url(request, issued.link, issued.secret))


class LinkListView(MerchantAPIView):
    resource = "links"

    @extend_schema(operation_id="links_list", responses=list_serializer(LinkSerializer),
                   parameters=[*PAGINATION_PARAMETERS, OpenApiParameter("status", enum=Link.Status.values)])
    def get(self, request: Request) -> Response:
        rows = selectors.links_for_merchant(
            self.merchant_id, status=query_choice(request, "status", Link.Status.values))
        return Response(paginate(request, rows, LinkSerializer))

    @extend_schema(operation_id="links_create", request=LinkCreateSerializer,
                   responses={201: LinkCreatedSerializer})
    def post(self, request: Request) -> Response:
        data = body_or_error(LinkCreateSerializer, request)
        issued = services.link_create_custodial(merchant_id=self.merchant_id, **data)
        url = link_url(request, issued.link, issued.secret)
        body = {**LinkSerializer(issued.link).data, "secret": issued.secret, "url": url,
                "qr_code": qr_data_uri(url)}
        response = Response(body, status=201)
        response.replay_data = {**body, **dict.fromkeys(ONCE_ONLY_FIELDS)}  # type: ignore[attr-defined]
        return response


class LinkDetailView(MerchantAPIView):
    resource = "links"

    @extend_schema(operation_id="links_retrieve", responses=LinkSerializer)
    def get(self, request: Request, id: str) -> Response:
        link = selectors.links_for_merchant(self.merchant_id).get(public_id=id)
        return Response(LinkSerializer(link).data)


class LinkCancelView(MerchantAPIView):
    resource = "links"

    @extend_schema(operation_id="links_cancel", request=None, responses=LinkSerializer)
    def post(self, request: Request, id: str) -> Response:
        try:
            link = services.link_cancel(link_public_id=id, merchant_id=self.merchant_id)
        except LinkError as exc:
            if exc.code == "link_not_found":
                raise PaymentsError("resource_missing", "no such object") from None
            # redeemed / cancelled / expired: the same answer its secret gets
            return Response({"error": {"type": "invalid_request_error", "code": exc.code,
                                       "message": exc.message, "param": None,
                                       "request_id": getattr(request, "request_id", None)}},
                            status=400)
        return Response(LinkSerializer(link).data)
