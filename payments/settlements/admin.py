from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin
from ops.admin_display import amount_column
from payments.settlements.models import Settlement


# settlements move money: only through settlement_execute, never by hand
@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "merchant", "amount_shown", "state", "automatic",
                    "chain_transaction", "created_at"]
    list_filter = ["state", "asset", "automatic"]
    search_fields = ["public_id", "payout_address", "merchant__name"]
    readonly_fields = ["amount_shown", *(f.name for f in Settlement._meta.fields)]
    amount_shown = amount_column()
