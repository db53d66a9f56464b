from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin, ReadOnlyInline
from ops.admin_display import amount_column
from payments.invoices.models import Invoice, InvoicePayment


class InvoicePaymentInline(ReadOnlyInline):
    model = InvoicePayment
    readonly_fields = ["payment_id", "amount_shown", "amount", "asset", "paid_at", "created_at"]
    amount_shown = amount_column()


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "merchant", "amount_shown", "received_shown", "state",
                    "expires_at", "created_at"]
    list_filter = ["state", "asset"]
    search_fields = ["public_id", "order_id", "merchant__name"]
    readonly_fields = ["public_id", "amount_shown", "received_shown", "amount_received", "paid_at", "created_at",
                       "updated_at"]
    amount_shown = amount_column()
    received_shown = amount_column("amount_received", description="received")
    inlines = [InvoicePaymentInline]
