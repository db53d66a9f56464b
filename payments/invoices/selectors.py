from __future__ import annotations

from django.db.models import QuerySet, Sum

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


def invoice_overpaid(invoice: Invoice) -> int:
    """Received beyond the invoice's amount."""
    return max(int(invoice.amount_received) - int(invoice.amount), 0)


def invoice_excess(invoice: Invoice) -> int:
    """What `refund_excess` would give back now: the overpaid part, or everything received when
    the invoice expired without being paid in full; less excess refunds already made (pending or
    succeeded)."""
    if invoice.state == Invoice.State.EXPIRED:
        excess = int(invoice.amount_received)
    else:
        excess = invoice_overpaid(invoice)
    if excess <= 0:
        return 0
    refunded = invoice.refunds.filter(reason="excess_payment").exclude(state="failed").aggregate(
        t=Sum("amount"))["t"]
    return max(excess - int(refunded or 0), 0)


def invoice_paid_late(invoice: Invoice) -> bool:
    """Whether any payment counted towards the invoice arrived after it expired."""
    return invoice.payments.filter(late=True).exists()


def invoice_by_receipt(invoice_id: str, token: str) -> Invoice | None:
    """For the public receipt page: the id and the receipt token must both match."""
    if not token:
        return None
    return Invoice.objects.select_related("merchant").filter(public_id=invoice_id, receipt_token=token).first()
