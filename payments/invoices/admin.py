from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin, ReadOnlyInline
from payments.invoices.models import Invoice, InvoicePayment


class InvoicePaymentInline(ReadOnlyInline):
    model = InvoicePayment
    readonly_fields = ["payment_id", "amount", "asset", "paid_at", "created_at"]


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "merchant", "amount", "asset", "amount_received", "state",
                    "expires_at", "created_at"]
    list_filter = ["state", "asset"]
    search_fields = ["public_id", "order_id", "merchant__name"]
    readonly_fields = ["public_id", "amount_received", "paid_at", "created_at", "updated_at"]
    inlines = [InvoicePaymentInline]
