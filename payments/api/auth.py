"""`Authorization: Bearer <key>` for the merchant API, and per-resource access checks."""

from __future__ import annotations

from typing import Any, Literal

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from payments.apikeys.models import ApiKey
from payments.apikeys.services import api_key_authenticate, key_allows


class ApiKeyPrincipal:
    """`request.user` for API-key requests: the key's merchant, never a Django user."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, key: ApiKey) -> None:
        self.key = key
        self.merchant_id = key.merchant_id

    def __str__(self) -> str:
        return f"api key {self.key.display_prefix}"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, presented = header.partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            raise AuthenticationFailed()
        key = api_key_authenticate(presented.strip())
        if key is None:
            raise AuthenticationFailed()
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ResourceAccess(BasePermission):
    """The view's `resource` needs read (safe methods) or write access on the key."""

    message = "this API key may not do that"

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        access: Literal["read", "write"] = "read" if request.method in SAFE_METHODS else "write"
        return key_allows(key, view.resource, access)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "payments.api.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer",
                "description": "sk_live_… (secret) or rk_live_… (restricted / read-only) keys"}
