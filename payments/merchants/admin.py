from __future__ import annotations

from django.contrib import admin

from payments.merchants.models import Membership, Merchant, ReceivingAddress


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


class ReceivingAddressInline(admin.TabularInline):
    model = ReceivingAddress
    extra = 0


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "payout_address", "settlement_schedule", "created_at"]
    search_fields = ["name", "payout_address", "addresses__address"]
    inlines = [MembershipInline, ReceivingAddressInline]


@admin.register(ReceivingAddress)
class ReceivingAddressAdmin(admin.ModelAdmin):
    list_display = ["address", "merchant", "mode", "created_at"]
    list_filter = ["mode"]
    search_fields = ["address", "merchant__name"]
