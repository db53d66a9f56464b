from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin
from payments.events.models import Event


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "type", "merchant", "created_at"]
    list_filter = ["type"]
    search_fields = ["public_id", "type"]
    readonly_fields = ["public_id", "type", "merchant", "data", "idempotency_key", "created_at"]
