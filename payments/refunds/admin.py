from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin
from payments.refunds.models import Refund


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "merchant", "payment_id", "amount", "asset", "state", "created_at"]
    list_filter = ["state", "asset", "reason"]
    search_fields = ["public_id", "recipient", "merchant__name"]
    readonly_fields = ["public_id", "merchant", "payment_id", "recipient", "amount", "asset",
                       "created_at", "completed_at", "refund_payment_id"]
