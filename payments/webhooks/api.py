from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import MerchantAPIView, body_or_error, query_choice
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.apikeys.models import ApiKey
from payments.apikeys.services import key_allows
from payments.webhooks import selectors, services
from payments.webhooks.models import WebhookDelivery
from payments.webhooks.serializers import (
    DeletedWebhookEndpointSerializer,
    RotateSecretSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointRetrieveSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
    WebhookEndpointWithSecretSerializer,
)


def _with_secret(endpoint: Any) -> dict[str, Any]:
    data = dict(WebhookEndpointSerializer(endpoint).data)
    data["secret"] = endpoint.secret
    return data


class WebhookEndpointListView(MerchantAPIView):
    resource = "webhooks"

    @extend_schema(operation_id="webhook_endpoints_list",
                   responses=list_serializer(WebhookEndpointSerializer), parameters=PAGINATION_PARAMETERS)
    def get(self, request: Request) -> Response:
        rows = selectors.endpoints_for_merchant(self.merchant_id)
        return Response(paginate(request, rows, WebhookEndpointSerializer))

    @extend_schema(operation_id="webhook_endpoints_create", request=WebhookEndpointCreateSerializer,
                   responses={201: WebhookEndpointWithSecretSerializer})
    def post(self, request: Request) -> Response:
        data = body_or_error(WebhookEndpointCreateSerializer, request)
        endpoint = services.endpoint_create(
            merchant_id=self.merchant_id, url=data["url"], event_types=data["enabled_events"],
            description=data["description"], metadata=data.get("metadata"),
        )
        return Response(_with_secret(endpoint), status=201)


class WebhookEndpointDetailView(MerchantAPIView):
    resource = "webhooks"

    @extend_schema(operation_id="webhook_endpoints_retrieve", responses=WebhookEndpointRetrieveSerializer,
                   description="The signing secret is included only for keys with write access to "
                               "webhooks: whoever holds it can sign events as this platform.")
    def get(self, request: Request, id: str) -> Response:
        endpoint = selectors.endpoints_for_merchant(self.merchant_id).get(public_id=id)
        # As in the dashboard: a read-only or webhooks:read key must not be able to forge events.
        if isinstance(request.auth, ApiKey) and key_allows(request.auth, "webhooks", "write"):
            return Response(_with_secret(endpoint))
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(operation_id="webhook_endpoints_update", request=WebhookEndpointUpdateSerializer,
                   responses=WebhookEndpointSerializer,
                   description="Change the URL, the events, the description or metadata, or "
                               "disable the endpoint (`enabled: false`): a disabled endpoint gets "
                               "no new deliveries and its pending ones are cancelled.")
    def post(self, request: Request, id: str) -> Response:
        data = body_or_error(WebhookEndpointUpdateSerializer, request)
        endpoint = services.endpoint_update(
            merchant_id=self.merchant_id, endpoint_id=id, url=data.get("url"),
            event_types=data.get("enabled_events"), enabled=data.get("enabled"),
            description=data.get("description"), metadata=data.get("metadata"),
        )
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(operation_id="webhook_endpoints_delete", request=None,
                   responses=DeletedWebhookEndpointSerializer,
                   description="Delete the endpoint and its delivery log. Pending deliveries are "
                               "never attempted again. To pause deliveries instead, update it with "
                               "`enabled: false`.")
    def delete(self, request: Request, id: str) -> Response:
        services.endpoint_delete(merchant_id=self.merchant_id, endpoint_id=id)
        return Response({"id": id, "object": "webhook_endpoint", "deleted": True})


class WebhookEndpointTestView(MerchantAPIView):
    resource = "webhooks"

    @extend_schema(operation_id="webhook_endpoints_send_test", request=None,
                   responses={201: WebhookDeliverySerializer},
                   description="Send a `webhook_endpoint.test` event to this endpoint only, signed "
                               "like any other, and return its delivery (poll "
                               "`GET /webhook_deliveries/{id}` for the outcome).")
    def post(self, request: Request, id: str) -> Response:
        delivery = services.endpoint_send_test(merchant_id=self.merchant_id, endpoint_id=id)
        delivery = selectors.deliveries_for_merchant(self.merchant_id).get(pk=delivery.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=201)


class WebhookEndpointRotateSecretView(MerchantAPIView):
    resource = "webhooks"

    @extend_schema(operation_id="webhook_endpoints_rotate_secret", request=RotateSecretSerializer,
                   responses=WebhookEndpointWithSecretSerializer)
    def post(self, request: Request, id: str) -> Response:
        data = body_or_error(RotateSecretSerializer, request) if request.data else {}
        endpoint = services.endpoint_rotate_secret(merchant_id=self.merchant_id, endpoint_id=id,
                                                   overlap_seconds=data.get("expires_in_seconds"))
        return Response(_with_secret(endpoint))


class WebhookDeliveryListView(MerchantAPIView):
    resource = "webhooks"

    @extend_schema(operation_id="webhook_deliveries_list",
                   responses=list_serializer(WebhookDeliverySerializer),
                   parameters=[*PAGINATION_PARAMETERS,
                               OpenApiParameter("endpoint", str),
                               OpenApiParameter("status", enum=WebhookDelivery.State.values)])
    def get(self, request: Request) -> Response:
        rows = selectors.deliveries_for_merchant(
            self.merchant_id, endpoint_id=request.query_params.get("endpoint"),
            status=query_choice(request, "status", WebhookDelivery.State.values))
        return Response(paginate(request, rows, WebhookDeliverySerializer))


class WebhookDeliveryDetailView(MerchantAPIView):
    resource = "webhooks"

    @extend_schema(operation_id="webhook_deliveries_retrieve", responses=WebhookDeliverySerializer)
    def get(self, request: Request, id: str) -> Response:
        delivery = selectors.deliveries_for_merchant(self.merchant_id).get(public_id=id)
        return Response(WebhookDeliverySerializer(delivery).data)


class WebhookDeliveryRedeliverView(MerchantAPIView):
    resource = "webhooks"

    @extend_schema(operation_id="webhook_deliveries_redeliver", request=None,
                   responses={201: WebhookDeliverySerializer})
    def post(self, request: Request, id: str) -> Response:
        delivery = services.delivery_redeliver(merchant_id=self.merchant_id, delivery_id=id)
        delivery = selectors.deliveries_for_merchant(self.merchant_id).get(pk=delivery.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=201)
