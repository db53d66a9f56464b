"""Operators choose the rate source and set the operator rate here; recorded rates are history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from hub.chain.admin import ReadOnlyAdmin
from hub.core.rates import rate_to_wad
from hub.rates.models import ExchangeRate, GasPrice, RateSource
from hub.rates.services import rate_refresh


@admin.register(RateSource)
class RateSourceAdmin(admin.ModelAdmin):
    list_display = ("kind", "operator_rate", "feed_address", "updated_at")
    actions = ["refresh_now"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not RateSource.objects.exists()

    def save_model(self, request: HttpRequest, obj: RateSource, form: Any, change: bool) -> None:
        rate_to_wad(obj.operator_rate.strip())  # refuse a malformed rate before saving
        super().save_model(request, obj, form, change)

    @admin.action(description="Fetch the rate from this source now")
    def refresh_now(self, request: HttpRequest, queryset: QuerySet[RateSource]) -> None:
        row = rate_refresh()
        if row is None:
            self.message_user(request, "The source gave no usable rate (see alarms).", messages.ERROR)
        else:
            self.message_user(request, f"Recorded {row}.")


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ReadOnlyAdmin):  # the rates amounts were converted at: history
    list_display = ("retrieved_at", "base", "quote", "rate", "source")
    readonly_fields = ("base", "quote", "rate", "source", "retrieved_at")


@admin.register(GasPrice)
class GasPriceAdmin(ReadOnlyAdmin):
    list_display = ("retrieved_at", "block_number", "base_fee_wei", "priority_fee_wei")
