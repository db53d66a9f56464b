from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments.apikeys.models import ApiKey
from payments.errors import PaymentsError
from payments.merchants.permissions import ACCESS_LEVELS, RESOURCES
from payments.serialization import Timestamp


class ApiKeySerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = serializers.SerializerMethodField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ApiKey.Kind.values)
    prefix = serializers.CharField(source="display_prefix", help_text="the key's listable start")
    permissions = serializers.DictField(child=serializers.ChoiceField(choices=ACCESS_LEVELS))
    created = Timestamp(source="created_at")
    expires_at = Timestamp(allow_null=True)
    revoked_at = Timestamp(allow_null=True)
    last_used_at = Timestamp(allow_null=True)

    def get_object(self, obj: Any) -> str:
        return "api_key"


class ApiKeyWithSecretSerializer(ApiKeySerializer):
    secret = serializers.CharField(help_text="the full key: shown once, never again")


def unknown_permissions_refuse(permissions: Any) -> None:
    """PaymentsError `permission_unknown` when `permissions` names a resource that does not exist."""
    unknown = sorted(str(name) for name in permissions if name not in RESOURCES)
    if unknown:
        raise PaymentsError("permission_unknown",
                            f"unknown permission {unknown[0][:64]!r}; resources are {', '.join(RESOURCES)}",
                            param=f"permissions[{unknown[0][:64]}]")


@extend_schema_field({
    "type": "object", "additionalProperties": False,
    "properties": {resource: {"type": "string", "enum": list(ACCESS_LEVELS)} for resource in RESOURCES},
    "example": {"invoices": "write", "events": "read"},
})
class PermissionsField(serializers.Field):
    """resource → read | write. A resource that does not exist is refused (`permission_unknown`),
    never dropped: a misspelt name would silently grant nothing."""

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if not isinstance(data, dict):
            raise serializers.ValidationError("permissions is an object: resource → read | write")
        unknown_permissions_refuse(data)
        for resource, access in data.items():
            if access not in ACCESS_LEVELS:
                raise serializers.ValidationError({resource: "read or write"})
        return dict(data)

    def to_representation(self, value: Any) -> Any:
        return value


class ApiKeyCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ApiKey.Kind.values)
    name = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    permissions = PermissionsField(
        required=False, help_text="restricted keys: resource → read | write (others: none)",
    )


class ApiKeyRollSerializer(serializers.Serializer):
    expires_in_seconds = serializers.IntegerField(
        min_value=0, max_value=7 * 24 * 3600, required=False,
        help_text="how long the old key keeps working (default 86400; 0 = revoke now)",
    )
