from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import MerchantAPIView, body_or_error
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.apikeys import services
from payments.apikeys.models import ApiKey
from payments.apikeys.serializers import (
    ApiKeyCreateSerializer,
    ApiKeyRollSerializer,
    ApiKeySerializer,
    ApiKeyWithSecretSerializer,
)


def _with_secret(issued: services.IssuedKey) -> dict[str, Any]:
    data = dict(ApiKeySerializer(issued.api_key).data)
    data["secret"] = issued.plaintext
    return data


class ApiKeyListView(MerchantAPIView):
    resource = "api_keys"

    @extend_schema(operation_id="api_keys_list", responses=list_serializer(ApiKeySerializer),
                   parameters=PAGINATION_PARAMETERS)
    def get(self, request: Request) -> Response:
        rows = ApiKey.objects.filter(merchant_id=self.merchant_id)
        return Response(paginate(request, rows, ApiKeySerializer))

    @extend_schema(operation_id="api_keys_create", request=ApiKeyCreateSerializer,
                   responses={201: ApiKeyWithSecretSerializer})
    def post(self, request: Request) -> Response:
        data = body_or_error(ApiKeyCreateSerializer, request)
        issued = services.api_key_create(merchant_id=self.merchant_id, kind=data["kind"],
                                         name=data["name"], permissions=data.get("permissions"),
                                         created_by=request.auth if isinstance(request.auth, ApiKey) else None)
        return Response(_with_secret(issued), status=201)


class ApiKeyDetailView(MerchantAPIView):
    resource = "api_keys"

    @extend_schema(operation_id="api_keys_retrieve", responses=ApiKeySerializer)
    def get(self, request: Request, id: str) -> Response:
        key = ApiKey.objects.get(merchant_id=self.merchant_id, public_id=id)
        return Response(ApiKeySerializer(key).data)


class ApiKeyRevokeView(MerchantAPIView):
    resource = "api_keys"

    @extend_schema(operation_id="api_keys_revoke", request=None, responses=ApiKeySerializer)
    def post(self, request: Request, id: str) -> Response:
        key = services.api_key_revoke(merchant_id=self.merchant_id, key_id=id)
        return Response(ApiKeySerializer(key).data)


class ApiKeyRollView(MerchantAPIView):
    resource = "api_keys"

    @extend_schema(operation_id="api_keys_roll", request=ApiKeyRollSerializer,
                   responses={201: ApiKeyWithSecretSerializer})
    def post(self, request: Request, id: str) -> Response:
        data = body_or_error(ApiKeyRollSerializer, request) if request.data else {}
        issued = services.api_key_roll(merchant_id=self.merchant_id, key_id=id,
                                       overlap_seconds=data.get("expires_in_seconds"),
                                       rolled_by=request.auth if isinstance(request.auth, ApiKey) else None)
        return Response(_with_secret(issued), status=201)
