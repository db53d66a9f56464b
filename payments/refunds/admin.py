from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin
from ops.admin_display import amount_column
from payments.refunds.models import Refund


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "merchant", "payment_id", "amount_shown", "state", "created_at"]
    amount_shown = amount_column()
    list_filter = ["state", "asset", "reason"]
    search_fields = ["public_id", "recipient", "merchant__name"]
    readonly_fields = ["public_id", "merchant", "payment_id", "recipient", "amount_shown", "amount", "asset",
                       "created_at", "completed_at", "refund_payment_id"]
