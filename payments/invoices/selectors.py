from __future__ import annotations

from django.db.models import QuerySet

from payments.invoices.models import Invoice


def invoices_for_merchant(merchant_id: int, *, status: str | None = None,
                          order_id: str | None = None) -> QuerySet[Invoice]:
    rows = Invoice.objects.filter(merchant_id=merchant_id)
    if status:
        rows = rows.filter(state=status)
    if order_id:
        rows = rows.filter(order_id=order_id)
    return rows.order_by("-id")


def invoice_public(invoice_id: str) -> Invoice | None:
    """For the hosted checkout page: anyone with the id may see the invoice."""
    return Invoice.objects.select_related("merchant").filter(public_id=invoice_id).first()
