from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from payments.purchases.models import Payment, Purchase


class PaymentInline(admin.TabularInline):
    model = Payment
    fields = ("type", "sender", "recipient", "amount_wei", "amount_token", "status")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin):
    list_display = ("id", "sender", "created_at")
    search_fields = ("id", "sender")
    readonly_fields = ("id", "sender", "meta", "created_at")
    inlines = [PaymentInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "sender", "recipient", "amount_wei", "amount_token", "status",
                    "created_at")
    list_filter = ("type", "status")
    search_fields = ("sender", "recipient", "purchase__id")
    readonly_fields = [f.name for f in Payment._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
