from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin
from ops.admin_display import amount_column
from payments.received.models import ReceivedPayment


@admin.register(ReceivedPayment)
class ReceivedPaymentAdmin(ReadOnlyAdmin):
    list_display = ["payment_id", "merchant", "amount_shown", "fiat_value", "fiat_currency", "paid_at"]
    list_filter = ["asset", "fiat_currency"]
    search_fields = ["merchant__name"]
    amount_shown = amount_column()
