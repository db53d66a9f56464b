"""What the merchant platform plugs into the hub (`register`, called by PaymentsConfig.ready()):

- a "payments settled" listener: a completed payment to a merchant's address is recorded with
  its fiat value of the time (`payments.received`), becomes the merchant's domain event and
  credits the invoice it pays. It runs inside the purchase's
  transaction (both write rows; the webhook deliveries and pushes they schedule happen after
  commit);
- a "checkout paid" listener: a confirmed on-chain payment through the Checkout contract, made
  out to the hub, is held for the invoice's merchant like any other receipt (a PT_CHECKOUT hub
  payment credited to the merchant's custodial balance: `hub.checkout.services`), counts towards
  the invoice it names (with its fiat value, `payments.received`) and is the merchant's
  `payment.succeeded`, inside the hub's recording
  transaction (an intent signed before custody paid the merchant's address directly: it only
  credits the invoice, `invoice_credit_checkout`);
- a custodial-withdrawal guard: a merchant's custodial balance leaves only through settlements
  (payout address, team roles, 2FA), so the key of a receiving address alone must not move it."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from django.db import transaction

from hub.chain.signer import hub_address
from hub.channels.errors import ChannelError
from hub.checkout.listeners import on_checkout_paid
from hub.checkout.models import CheckoutPayment
from hub.checkout.services import checkout_payment_hold
from hub.custodial.services import guard_withdrawals, receive_custodially
from hub.purchases.listeners import on_payments_settled
from hub.purchases.models import Payment
from ops.services import alarm_raise
from payments.errors import PaymentsError
from payments.events.services import event_record
from payments.invoices.models import Invoice
from payments.invoices.services import invoice_apply_payment, invoice_credit_checkout
from payments.mail.services import payment_received_notice
from payments.merchants.models import ReceivingAddress
from payments.merchants.selectors import merchant_id_sql, merchant_ids_for_addresses
from payments.received.services import received_payment_record

logger = logging.getLogger(__name__)


def register() -> None:
    on_payments_settled(payments_created, recipient_sql=merchant_id_sql())
    on_checkout_paid(checkout_received)
    guard_withdrawals(refuse_merchant_address)
    receive_custodially(is_merchant_address)


def is_merchant_address(address: str) -> bool:
    """A merchant's receiving address takes channel payments custodially while it has no
    channel (`channel.pay(invoice.pay_to, ...)` of the SDK, the Connext client's PT_CHANNEL)."""
    return ReceivingAddress.objects.filter(address=address.lower()).exists()


def refuse_merchant_address(address: str) -> None:
    if ReceivingAddress.objects.filter(address=address).exists():
        raise ChannelError("merchant_balance_settles_only",
                           "this address receives for a merchant; its balance is paid out by settlements",
                           status=403)


def payments_created(payments: Iterable[Payment], known: Mapping[str, int | None] | None = None) -> None:
    """`known`: merchant ids (None: no merchant) of recipients the purchase read with its lock
    (`merchant_id_sql`); the others are looked up here."""
    completed = [p for p in payments if p.status == Payment.Status.COMPLETED]
    known = known or {}
    merchants = {a: m for a, m in known.items() if m is not None}
    merchants.update(merchant_ids_for_addresses(p.recipient for p in completed if p.recipient not in known))
    for payment in completed:
        merchant_id = merchants.get(payment.recipient)
        if merchant_id is None:
            continue
        # its fiat value at the time it was paid, invoice or not (the settlement report reads it)
        received = received_payment_record(merchant_id=merchant_id, payment=payment)
        invoice_id = payment.meta.get("invoiceId") or payment.meta.get("invoice_id")
        counted = False
        if isinstance(invoice_id, str) and invoice_id:
            # Only the recipient's merchant's own invoices: invoice_apply_payment ignores others.
            counted = invoice_apply_payment(invoice_id=invoice_id, merchant_id=merchant_id, payment_id=payment.pk,
                                            amount=int(received.amount), asset=received.asset,
                                            paid_at=payment.completed_at or payment.created_at)
        if not counted:  # an invoice's payments are announced by its paid notice
            payment_received_notice(merchant_id=merchant_id, payment_public_id=payment.public_id,
                                    sender=payment.sender, amount=int(received.amount), asset=received.asset,
                                    payment_type=payment.type, fiat_row=received)
        event_record(type="payment.succeeded", merchant_id=merchant_id,
                     data=payment_event_data(payment), idempotency_key=f"payment.succeeded:{payment.pk}")


def payment_event_data(payment: Payment) -> dict[str, object]:
    """The event's data: the payment exactly as GET /api/v1/payments/{id} shows it."""
    from payments.api.payments_received import PaymentSerializer

    return {"object": dict(PaymentSerializer(payment).data)}


def checkout_received(checkout: CheckoutPayment) -> None:
    """A confirmed on-chain checkout payment. Made out to the hub (the intents the checkout page
    hands out): held for the invoice's merchant (custodial balance, a PT_CHECKOUT payment),
    counted towards the invoice and announced as `payment.succeeded`, exactly as a channel
    payment to the merchant would be. The money has already moved, so an invoice that cannot
    count it (other asset, past the late window) leaves it in the merchant's balance to refund
    (its refund destination is on the payment), never refused; a payment naming no invoice
    raises an alarm and stays in `hub:checkout_receipts` for an operator."""
    if checkout.recipient != hub_address().lower():
        invoice_credit_checkout(checkout)  # an intent of before custody: the merchant has it
        return
    invoice = Invoice.objects.filter(public_id=checkout.invoice_ref).first()
    if invoice is None:
        alarm_raise(kind="checkout_unmatched", key=f"checkout:{checkout.pk}", severity="critical",
                    message=(f"checkout payment {checkout.pk} ({checkout.amount} {checkout.asset}, tx "
                             f"{checkout.tx_hash}) names no invoice ({checkout.invoice_ref!r})"),
                    detail={"checkout_payment": checkout.pk, "refund_destination": checkout.refund_destination})
        return
    payment = checkout_payment_hold(checkout=checkout, recipient=invoice.pay_to,
                                    meta={"invoiceId": invoice.public_id})
    received = received_payment_record(merchant_id=invoice.merchant_id, payment=payment)
    counted = False
    try:
        with transaction.atomic():
            counted = invoice_apply_payment(invoice_id=invoice.public_id, merchant_id=invoice.merchant_id,
                                            payment_id=payment.pk, amount=int(received.amount),
                                            asset=received.asset, paid_at=checkout.paid_at)
    except PaymentsError as err:
        logger.warning("checkout payment %s held for %s, not counted towards %s: %s", checkout.pk,
                       invoice.pay_to, invoice.public_id, err.code)
    if not counted:  # as payments_created: an invoice's payments are announced by its paid notice
        payment_received_notice(merchant_id=invoice.merchant_id, payment_public_id=payment.public_id,
                                sender=payment.sender, amount=int(received.amount), asset=received.asset,
                                payment_type=payment.type, fiat_row=received)
    event_record(type="payment.succeeded", merchant_id=invoice.merchant_id,
                 data=payment_event_data(payment), idempotency_key=f"payment.succeeded:{payment.pk}")
