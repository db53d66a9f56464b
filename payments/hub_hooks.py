"""What the merchant platform plugs into the hub (`register`, called by PaymentsConfig.ready()):

- a "payments settled" listener: a completed payment to a merchant's address is recorded with
  its fiat value of the time (`payments.received`), becomes the merchant's domain event and
  credits the invoice it pays. It runs inside the purchase's
  transaction (both write rows; the webhook deliveries and pushes they schedule happen after
  commit);
- a "checkout paid" listener: a confirmed on-chain payment through the Checkout contract credits
  the invoice it names (`invoice_credit_checkout`), inside the hub's recording transaction;
- a custodial-withdrawal guard: a merchant's custodial balance leaves only through settlements
  (payout address, team roles, 2FA), so the key of a receiving address alone must not move it."""

from __future__ import annotations

from collections.abc import Iterable

from hub.channels.errors import ChannelError
from hub.checkout.listeners import on_checkout_paid
from hub.custodial.services import guard_withdrawals, receive_custodially
from hub.purchases.listeners import on_payments_settled
from hub.purchases.models import Payment
from payments.events.services import event_record
from payments.invoices.services import invoice_apply_payment, invoice_credit_checkout
from payments.mail.services import payment_received_notice
from payments.merchants.models import ReceivingAddress
from payments.merchants.selectors import merchant_ids_for_addresses
from payments.received.services import received_payment_record


def register() -> None:
    on_payments_settled(payments_created)
    on_checkout_paid(invoice_credit_checkout)
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


def payments_created(payments: Iterable[Payment]) -> None:
    completed = [p for p in payments if p.status == Payment.Status.COMPLETED]
    merchants = merchant_ids_for_addresses(p.recipient for p in completed)
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
