from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin, ReadOnlyInline
from hub.purchases.models import Payment, Purchase
from ops.admin_display import amount_column


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("type", "sender", "recipient", "wei_shown", "token_shown", "status")
    readonly_fields = fields
    wei_shown = amount_column("amount_wei", asset="wei", description="ETH")
    token_shown = amount_column("amount_token", asset="token", description="SPD")
    max_num = 0


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "sender", "created_at")
    search_fields = ("id", "sender")
    readonly_fields = ("id", "sender", "meta", "created_at")
    inlines = [PaymentInline]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("id", "type", "sender", "recipient", "wei_shown", "token_shown", "status",
                    "created_at")
    list_filter = ("type", "status")
    search_fields = ("sender", "recipient", "purchase__id")
    readonly_fields = ["wei_shown", "token_shown", *(f.name for f in Payment._meta.fields)]
    wei_shown = amount_column("amount_wei", asset="wei", description="ETH")
    token_shown = amount_column("amount_token", asset="token", description="SPD")
