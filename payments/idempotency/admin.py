from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin
from payments.idempotency.models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["key", "api_key", "state", "response_status", "created_at"]
    list_filter = ["state"]
    search_fields = ["key"]
    exclude = ["response_body"]
    readonly_fields = ["api_key", "key", "request_fingerprint", "state", "locked_at",
                       "response_status", "response_content_type", "created_at"]
