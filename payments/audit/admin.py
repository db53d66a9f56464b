"""The audit log in the admin: read-only for everyone, superusers included."""

from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin
from payments.audit.models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "surface", "actor_label", "merchant_id", "target", "ip"]
    list_filter = ["surface", "action"]
    search_fields = ["action", "actor_label", "target"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in AuditLog._meta.fields]
