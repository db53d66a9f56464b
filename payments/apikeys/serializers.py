from __future__ import annotations

from typing import Any

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


class _PermissionsBase(serializers.Serializer):
    def to_internal_value(self, data: Any) -> Any:
        # DRF drops unknown fields; a misspelt resource would silently grant nothing
        if isinstance(data, dict):
            unknown_permissions_refuse(data)
        return super().to_internal_value(data)


def unknown_permissions_refuse(permissions: Any) -> None:
    """PaymentsError `permission_unknown` when `permissions` names a resource that does not exist."""
    unknown = sorted(str(name) for name in permissions if name not in RESOURCES)
    if unknown:
        raise PaymentsError("permission_unknown",
                            f"unknown permission {unknown[0]!r}; resources are {', '.join(RESOURCES)}",
                            param=f"permissions[{unknown[0]}]"[:200])


PermissionsSerializer = type("PermissionsSerializer", (_PermissionsBase,), {
    resource: serializers.ChoiceField(choices=ACCESS_LEVELS, required=False) for resource in RESOURCES
})


class ApiKeyCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ApiKey.Kind.values)
    name = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    permissions = PermissionsSerializer(
        required=False, help_text="restricted keys: resource → read | write (others: none)",
    )


class ApiKeyRollSerializer(serializers.Serializer):
    expires_in_seconds = serializers.IntegerField(
        min_value=0, max_value=7 * 24 * 3600, required=False,
        help_text="how long the old key keeps working (default 86400; 0 = revoke now)",
    )
