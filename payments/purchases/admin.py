from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin, ReadOnlyInline
from payments.purchases.models import Payment, Purchase


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("type", "sender", "recipient", "amount_wei", "amount_token", "status")
    readonly_fields = fields
    max_num = 0


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "sender", "created_at")
    search_fields = ("id", "sender")
    readonly_fields = ("id", "sender", "meta", "created_at")
    inlines = [PaymentInline]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "sender", "recipient", "amount_wei", "amount_token", "status",
                    "created_at")
    list_filter = ("type", "status")
    search_fields = ("sender", "recipient", "purchase__id")
    readonly_fields = [f.name for f in Payment._meta.fields]
