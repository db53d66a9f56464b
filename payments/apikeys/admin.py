from __future__ import annotations

from typing import Any

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin
from payments.apikeys.models import ApiKey


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):  # a cleared revoked_at would bring a revoked key back
    list_display = ["public_id", "display_prefix", "merchant", "kind", "name", "created_at",
                    "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["kind"]
    search_fields = ["public_id", "prefix", "merchant__name"]
    # The hash is useless to an operator and keys are created through the API/dashboard only.
    exclude = ["secret_hash"]
    readonly_fields = ["public_id", "merchant", "kind", "prefix", "permissions", "created_at",
                       "last_used_at", "rolled_from"]

    actions = ["revoke"]

    @admin.action(description="Revoke selected keys (requests with them fail at once)")
    def revoke(self, request: object, queryset: Any) -> None:
        from payments.apikeys.services import api_key_revoke

        for key in queryset:
            api_key_revoke(merchant_id=key.merchant_id, key_id=key.public_id)
