"""Email notices: a customer's receipt and refund notice, payment (invoice or not), refund and
settlement notices to a merchant's owners.

`email_enqueue` writes an outbox row in the caller's transaction (nothing when a mail with the
same key exists: each notice goes out once) and sends the `send_email` actor after commit;
`email_send` delivers one row through Django's email framework (EMAIL_BACKEND: the console in
development, SMTP configured by the environment in production) and is safe to run twice."""

from __future__ import annotations

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from ops import jobs
from payments.invoices.models import Invoice, InvoicePayment
from payments.mail.models import OutgoingEmail
from payments.merchants.models import Membership, Merchant
from payments.refunds.models import Refund
from payments.units import exact_amount, format_amount

NOTICE_ROLES = (Membership.Role.OWNER,)  # who gets payment and settlement notices


def email_enqueue(*, key: str, merchant_id: int, to: list[str], subject: str, body: str) -> OutgoingEmail | None:
    to = sorted({address for address in to if address})
    if not to:
        return None
    row, created = OutgoingEmail.objects.get_or_create(
        key=key, defaults={"merchant_id": merchant_id, "to": to, "subject": subject[:200], "body": body})
    if created:
        transaction.on_commit(lambda: jobs.send("send_email", row.pk))
    return row


def email_send(email_id: int) -> bool:
    """Send one outbox row unless it was sent already; returns whether it was sent now."""
    with transaction.atomic():
        row = OutgoingEmail.objects.select_for_update(skip_locked=True).filter(
            pk=email_id, sent_at__isnull=True).first()
        if row is None:
            return False
        row.attempts += 1
        send_mail(subject=row.subject, message=row.body, from_email=None, recipient_list=list(row.to))
        row.sent_at = timezone.now()
        row.save(update_fields=["attempts", "sent_at"])
    return True


def emails_unsent(limit: int = 100) -> list[int]:
    return list(OutgoingEmail.objects.filter(sent_at__isnull=True).order_by("id").values_list("id", flat=True)[:limit])


def _owners(merchant_id: int) -> list[str]:
    return list(Membership.objects.filter(merchant_id=merchant_id, role__in=NOTICE_ROLES)
                .exclude(user__email="").values_list("user__email", flat=True))


def invoice_paid_notices(invoice: Invoice, receipt_url: str | None) -> None:
    """When an invoice is first covered: the receipt to the customer (if an email was given) and a
    payment notice to the merchant's owners."""
    amount = format_amount(int(invoice.amount_received), invoice.asset)
    price = f" ({invoice.price} {invoice.currency})" if invoice.currency else ""
    name = invoice.merchant.name
    if invoice.customer_email:
        email_enqueue(
            key=f"receipt:{invoice.public_id}", merchant_id=invoice.merchant_id, to=[invoice.customer_email],
            subject=f"Your receipt from {name}",
            body=(f"Thank you for your payment to {name}.\n\n"
                  f"Invoice: {invoice.public_id}\n"
                  + (f"Order: {invoice.order_id}\n" if invoice.order_id else "")
                  + (f"For: {invoice.description}\n" if invoice.description else "")
                  + f"Paid: {amount}{price}\n\n"
                  + (f"Your receipt: {receipt_url}\n" if receipt_url else "")))
    email_enqueue(
        key=f"paid:{invoice.public_id}", merchant_id=invoice.merchant_id, to=_owners(invoice.merchant_id),
        subject=f"{name}: invoice {invoice.public_id} was paid",
        body=(f"Invoice {invoice.public_id} is {invoice.state.replace('_', ' ')}: {amount}{price} received.\n"
              + (f"Order: {invoice.order_id}\n" if invoice.order_id else "")))


def settlement_notice(*, merchant_id: int, merchant_name: str, settlement_id: str, state: str,
                      amount: int, asset: str, payout_address: str) -> None:
    email_enqueue(
        key=f"settlement:{settlement_id}:{state}", merchant_id=merchant_id, to=_owners(merchant_id),
        subject=f"{merchant_name}: settlement {settlement_id} {state}",
        body=(f"Settlement {settlement_id} of {format_amount(amount, asset)} to {payout_address} is {state}.\n"
              + ("The amount went back to your balance.\n" if state == "failed" else "")))


def _fiat_text(row: object) -> str:
    """" (20.00 USD)" from a FiatRecord row, empty without a value."""
    value, currency = getattr(row, "fiat_value", None), getattr(row, "fiat_currency", "")
    return f" ({value} {currency})" if value is not None and currency else ""


def payment_received_notice(*, merchant_id: int, payment_public_id: str, sender: str, amount: int,
                            asset: str, payment_type: str, fiat_row: object = None) -> None:
    """A payment that counts towards no invoice of the merchant: a notice to its owners (an
    invoice's payments are announced by its paid notice)."""
    name = Merchant.objects.values_list("name", flat=True).get(pk=merchant_id)
    email_enqueue(
        key=f"payment:{payment_public_id}", merchant_id=merchant_id, to=_owners(merchant_id),
        subject=f"{name}: payment {payment_public_id} received",
        body=(f"Payment {payment_public_id} of {exact_amount(amount, asset)}{_fiat_text(fiat_row)} "
              f"reached your balance ({payment_type}), from {sender}.\n"
              "It is not tied to an invoice.\n"))


def refund_notices(refund: Refund) -> None:
    """A refund that succeeded or failed: a notice to the merchant's owners, and when it succeeded
    and the customer's email is known (the invoice the refunded payment paid names one), a notice
    to the customer. Once per refund and outcome."""
    name = refund.merchant.name
    amount = f"{exact_amount(int(refund.amount), refund.asset)}{_fiat_text(refund)}"  # every digit: the books
    invoice = refund.invoice
    if invoice is None:
        paid = (InvoicePayment.objects.filter(source=InvoicePayment.Source.HUB, payment_id=refund.payment_id)
                .select_related("invoice").first())
        invoice = paid.invoice if paid is not None else None
    about = f" for invoice {invoice.public_id}" if invoice is not None else ""
    if refund.state == Refund.State.SUCCEEDED and invoice is not None and invoice.customer_email:
        email_enqueue(
            key=f"refund:{refund.public_id}:customer", merchant_id=refund.merchant_id,
            to=[invoice.customer_email], subject=f"A refund from {name}",
            body=(f"{name} refunded {amount}{about} to {refund.recipient}.\n\n"
                  + (f"Order: {invoice.order_id}\n" if invoice.order_id else "")
                  + f"Refund: {refund.public_id}\n"))
    outcome = ("was paid back to the customer" if refund.state == Refund.State.SUCCEEDED
               else f"failed ({refund.failure_reason}); the amount stays in your balance")
    email_enqueue(
        key=f"refund:{refund.public_id}:{refund.state}", merchant_id=refund.merchant_id,
        to=_owners(refund.merchant_id), subject=f"{name}: refund {refund.public_id} {refund.state}",
        body=f"Refund {refund.public_id} of {amount}{about} to {refund.recipient} {outcome}.\n")
