from __future__ import annotations

from django.contrib import admin

from payments.events.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["public_id", "type", "merchant", "created_at"]
    list_filter = ["type"]
    search_fields = ["public_id", "type"]
    readonly_fields = ["public_id", "type", "merchant", "data", "idempotency_key", "created_at"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
