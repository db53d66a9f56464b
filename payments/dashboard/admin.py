"""Operators see who has a second factor and each merchant's policy; seeds are never shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from payments.dashboard.models import MerchantSecurity, TotpDevice


@admin.register(TotpDevice)
class TotpDeviceAdmin(admin.ModelAdmin):
    list_display = ["user", "created_at"]
    search_fields = ["user__username"]
    exclude = ["secret", "last_used_step"]
    readonly_fields = ["user", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # an operator may delete one (a lost phone); never read or edit it


@admin.register(MerchantSecurity)
class MerchantSecurityAdmin(admin.ModelAdmin):
    list_display = ["merchant", "totp_required", "updated_at"]
    list_filter = ["totp_required"]
