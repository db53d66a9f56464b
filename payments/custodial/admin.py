from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from payments.custodial.models import CustodialWithdrawal


@admin.register(CustodialWithdrawal)
class CustodialWithdrawalAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "recipient", "requested_token", "sent_wei", "state", "created_at")
    list_filter = ("state", "payout_asset")
    search_fields = ("user", "recipient")
    readonly_fields = [f.name for f in CustodialWithdrawal._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
