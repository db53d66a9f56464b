"""Refund requests. `refund_create` validates and records a pending refund; the execution
(`payments.refunds.execution`) then pays it back, off-chain or, for a payment made on chain,
on chain, and calls `refund_mark_succeeded` / `refund_mark_failed`."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from hub.custodial.services import lock_custodial_accounts
from hub.purchases.models import Payment
from payments import conf, fiat
from payments.balances.selectors import custodial_balance
from payments.errors import PaymentsError
from payments.events.services import event_record
from payments.mail.services import refund_notices
from payments.merchants.selectors import merchant_addresses
from payments.metadata import metadata_clean
from payments.refunds.models import Refund
from payments.refunds.serializers import refund_data

State = Refund.State


def _open_refunds_total(merchant_id: int, asset: str) -> int:
    total = Refund.objects.filter(merchant_id=merchant_id, asset=asset, state=State.PENDING).aggregate(
        t=Sum("amount"))["t"]
    return int(total or 0)


def paid_on_chain(payment: Payment) -> bool:
    """A checkout payment (paid on chain through the Checkout contract, held by the hub): the
    payer has no channel to pay back into."""
    return payment.type == Payment.Type.CHECKOUT


def refund_destination(payment: Payment) -> str:
    """Where a refund of `payment` goes: the refund destination the checkout intent named (an
    on-chain payment), else the payer."""
    destination = (payment.meta or {}).get("refundDestination") if paid_on_chain(payment) else None
    return str(destination or payment.sender).lower()


def refund_create(*, merchant_id: int, payment_id: int, amount: int | None = None,
                  reason: str = Refund.Reason.REQUESTED_BY_CUSTOMER,
                  metadata: dict[str, Any] | None = None, invoice_id: int | None = None) -> Refund:
    """Record a pending refund of (part of) payment `payment_id` to its payer.

    Refused when the payment is not one the merchant received (resource_missing), when it
    exceeds what is left of the payment after earlier non-failed refunds
    (refund_exceeds_payment), or the merchant's custodial balance minus pending refunds
    (balance_insufficient). Event: refund.created."""
    with transaction.atomic():
        addresses = merchant_addresses(merchant_id)
        payment = None
        if addresses:
            payment = Payment.objects.filter(pk=payment_id, recipient__in=addresses).first()
        if payment is None:
            raise PaymentsError("resource_missing", f"no payment {payment_id}", param="payment")
        asset = "token" if int(payment.amount_token or 0) > 0 else "wei"
        paid = int(payment.amount_token if asset == "token" else payment.amount_wei)
        lock_custodial_accounts(addresses)
        already = Refund.objects.filter(payment_id=payment_id).exclude(state=State.FAILED).aggregate(
            t=Sum("amount"))["t"]
        left = paid - int(already or 0)
        if amount is None and left <= 0:
            raise PaymentsError("refund_exceeds_payment", "the payment is refunded in full already",
                                param="amount")
        wanted = left if amount is None else amount
        if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted <= 0:
            raise PaymentsError("amount_invalid", "amount is a positive integer of base units", param="amount")
        if wanted > left:
            raise PaymentsError("refund_exceeds_payment", "at most {amount} is left to refund",
                                param="amount", amount=(left, asset))
        available = custodial_balance(merchant_id, asset) - _open_refunds_total(merchant_id, asset)
        if wanted > available:
            raise PaymentsError("balance_insufficient", "the available balance is {amount}",
                                param="amount", amount=(max(available, 0), asset))
        if reason not in Refund.Reason.values:
            raise PaymentsError("parameter_invalid", "unknown reason", param="reason")
        refund = Refund.objects.create(
            merchant_id=merchant_id, payment_id=payment_id, recipient=refund_destination(payment),
            amount=wanted, asset=asset, reason=reason, metadata=metadata_clean(metadata),
            invoice_id=invoice_id,
            **fiat.record_fields(wanted, asset, at=timezone.now(), currency=conf.FIAT_BOOKS_CURRENCY),
        )
        event_record(type="refund.created", merchant_id=merchant_id, data={"object": refund_data(refund)})
        return refund


def _finish(refund_id: str, state: str, **fields: Any) -> Refund:
    refund = Refund.objects.select_for_update().get(public_id=refund_id)
    if refund.state != State.PENDING:
        if refund.state == state:
            return refund  # idempotent
        raise PaymentsError("refund_not_pending", f"refund {refund_id} is {refund.state}")
    refund.state = state
    refund.completed_at = timezone.now()
    for name, value in fields.items():
        setattr(refund, name, value)
    refund.save()
    event_record(type=f"refund.{state}", merchant_id=refund.merchant_id,
                 data={"object": refund_data(refund)})
    refund_notices(refund)
    return refund


def refund_mark_succeeded(*, refund_id: str, refund_payment_id: int | None = None) -> Refund:
    """The payment back was made (call inside that payment's transaction). Idempotent."""
    with transaction.atomic():
        return _finish(refund_id, State.SUCCEEDED, refund_payment_id=refund_payment_id)


def refund_mark_failed(*, refund_id: str, reason: str) -> Refund:
    with transaction.atomic():
        return _finish(refund_id, State.FAILED, failure_reason=reason[:2000])


def refunds_pending() -> list[str]:
    """Ids of refunds waiting for the purchase code to execute them, oldest first."""
    return list(Refund.objects.filter(state=State.PENDING).order_by("id").values_list("public_id", flat=True))
