"""Invoice writes: create, apply a payment, expire.

States: open → paid | partially_paid | overpaid (before expiry); open/partially_paid → expired
(by the periodic actor); open → void (by the merchant, before any payment); expired → paid_late when payments within the late window cover the
amount. Every state change records an `invoice.<state>` event in the same transaction."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from ops import jobs
from payments import conf, fiat
from payments.errors import PaymentsError
from payments.events.services import event_record
from payments.invoices.models import Invoice, InvoicePayment
from payments.invoices.selectors import invoice_excess
from payments.invoices.serializers import InvoiceSerializer, invoice_data
from payments.mail.services import invoice_paid_notices
from payments.merchants.models import ReceivingAddress
from payments.merchants.services import normalize_address
from payments.metadata import metadata_clean
from payments.refunds.models import Refund
from payments.refunds.services import refund_create
from payments.units import ASSETS

logger = logging.getLogger(__name__)

State = Invoice.State


def _record_state(invoice: Invoice) -> None:
    event_record(type=f"invoice.{invoice.state}", merchant_id=invoice.merchant_id,
                 data={"object": invoice_data(invoice)})


@transaction.atomic
def invoice_create(*, merchant_id: int, asset: str, amount: int | None = None,
                   currency: str = "", price: str | Decimal | None = None, customer_email: str = "",
                   description: str = "", order_id: str = "", metadata: dict[str, Any] | None = None,
                   expires_in: int | None = None, late_payment_window: int | None = None,
                   success_url: str = "", now: datetime | None = None) -> Invoice:
    """An open invoice payable to the merchant's first custodial receiving address.

    Either `amount` (base units of `asset`) or `currency` + `price` (a fiat price): a fiat price
    is converted at the current rate, rounded up to a whole base unit, and the rate (with its
    source and time) is locked on the invoice for its lifetime (rate_unavailable without a
    current rate)."""
    if asset not in ASSETS:
        raise PaymentsError("parameter_invalid", "asset is wei or token", param="asset")
    priced: dict[str, Any] = {}
    if currency or price is not None:
        if amount is not None:
            raise PaymentsError("parameter_invalid", "give either amount or currency and price",
                                param="amount")
        if currency not in fiat.CURRENCIES:
            raise PaymentsError("parameter_invalid" if currency else "parameter_missing",
                                f"currency is one of {', '.join(fiat.CURRENCIES)}", param="currency")
        if price is None:
            raise PaymentsError("parameter_missing", "a fiat-priced invoice needs a price", param="price")
        value = price if isinstance(price, Decimal) else fiat.parse_price(price)
        quote = fiat.required_quote(asset, currency)
        amount = fiat.amount_for(value, asset, quote)
        priced = {"currency": currency, "price": value, "rate": quote.rate, "rate_source": quote.source,
                  "rate_at": quote.at}
    if amount is None:
        raise PaymentsError("parameter_missing", "amount (or currency and price) is required", param="amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0 or amount >= 2**256:
        raise PaymentsError("amount_invalid", "amount is a positive integer of base units", param="amount")
    if customer_email:
        try:
            validate_email(customer_email)
        except ValidationError:
            raise PaymentsError("parameter_invalid", "customer_email is not an email address",
                                param="customer_email") from None
    address = (
        ReceivingAddress.objects.filter(merchant_id=merchant_id)
        .order_by("-mode", "id")  # custodial sorts before channel (descending)
        .values_list("address", flat=True).first()
    )
    if address is None:
        raise PaymentsError("receiving_address_missing", "the merchant has no receiving address")
    now = now or timezone.now()
    expires_at = now + timedelta(seconds=conf.INVOICE_EXPIRY_SECONDS if expires_in is None else expires_in)
    window = conf.INVOICE_LATE_WINDOW_SECONDS if late_payment_window is None else late_payment_window
    invoice = Invoice.objects.create(
        merchant_id=merchant_id, amount=amount, asset=asset, pay_to=address,
        description=description, order_id=order_id, metadata=metadata_clean(metadata),
        success_url=success_url,
        expires_at=expires_at, late_payment_until=expires_at + timedelta(seconds=window),
        customer_email=customer_email, receipt_token=secrets.token_urlsafe(24), **priced,
    )
    event_record(type="invoice.created", merchant_id=merchant_id,
                 data={"object": invoice_data(invoice)})
    return invoice


@transaction.atomic
def invoice_apply_payment(*, invoice_id: str, merchant_id: int, payment_id: int, amount: int,
                          asset: str, paid_at: datetime, source: str = InvoicePayment.Source.HUB) -> bool:
    """Count payment `payment_id`, whose value reached merchant `merchant_id` (its recipient is
    one of that merchant's receiving addresses), towards invoice `invoice_id` and move its state.

    Only value that reached the invoice's own merchant counts: a payment to another merchant
    that names this invoice leaves it untouched (and is an ordinary payment to its recipient);
    returns whether the payment was counted. Called by the purchase code inside its
    transaction. Idempotent on (`source`, `payment_id`). Raises PaymentsError (so the purchase is refused
    with it) when the invoice does not exist (resource_missing), the asset differs
    (invoice_asset_mismatch) or the late-payment window has passed (invoice_not_payable)."""
    invoice = Invoice.objects.select_for_update().filter(public_id=invoice_id).first()
    if invoice is None:
        raise PaymentsError("resource_missing", "no such invoice", param="invoice_id")
    if invoice.merchant_id != merchant_id:
        return False
    if InvoicePayment.objects.filter(source=source, payment_id=payment_id).exists():
        return True
    if invoice.state == State.VOID:
        raise PaymentsError("invoice_not_payable", f"invoice {invoice_id} was voided")
    if asset != invoice.asset:
        raise PaymentsError("invoice_asset_mismatch", f"invoice {invoice_id} is payable in {invoice.asset}")
    if paid_at > invoice.late_payment_until:
        raise PaymentsError("invoice_not_payable", f"invoice {invoice_id} no longer accepts payments")
    InvoicePayment.objects.create(
        invoice=invoice, source=source, payment_id=payment_id, amount=amount, asset=asset, paid_at=paid_at,
        late=paid_at > invoice.expires_at,
        **fiat.record_fields(amount, asset, at=paid_at,
                             currency=invoice.currency or conf.FIAT_BOOKS_CURRENCY),
    )
    invoice.amount_received += amount
    before = invoice.state
    covered = invoice.amount_received >= invoice.amount
    if paid_at <= invoice.expires_at and before in (State.OPEN, State.PARTIALLY_PAID, State.PAID):
        if invoice.amount_received == invoice.amount:
            invoice.state = State.PAID
        elif covered:
            invoice.state = State.OVERPAID
        else:
            invoice.state = State.PARTIALLY_PAID
    elif paid_at > invoice.expires_at and before in (State.OPEN, State.PARTIALLY_PAID, State.EXPIRED):
        # Late: the actor may not have expired it yet; a covered amount is paid_late.
        invoice.state = State.PAID_LATE if covered else State.EXPIRED
    if covered and invoice.paid_at is None:
        invoice.paid_at = paid_at
    invoice.save(update_fields=["amount_received", "state", "paid_at", "updated_at"])
    if invoice.state != before:
        _record_state(invoice)
        if covered and before in (State.OPEN, State.PARTIALLY_PAID, State.EXPIRED):
            invoice_paid_notices(invoice, InvoiceSerializer().get_receipt_url(invoice))
    late = paid_at > invoice.expires_at
    over = invoice.amount_received > invoice.amount
    if late or over:
        # Credited anyway, and flagged: the merchant decides (refund_excess gives the excess back).
        event_record(type="invoice.payment_flagged", merchant_id=invoice.merchant_id,
                     data={"object": invoice_data(invoice)})
    return True


@transaction.atomic
def invoice_void(*, merchant_id: int, invoice_id: str) -> Invoice:
    """Cancel an open invoice that has received nothing: it accepts no payment afterwards
    (a payment naming it is refused with invoice_not_payable). Idempotent on a void invoice;
    any other state is refused with invoice_not_voidable. Records `invoice.void`."""
    invoice = Invoice.objects.select_for_update().filter(merchant_id=merchant_id, public_id=invoice_id).first()
    if invoice is None:
        raise PaymentsError("resource_missing", "no such invoice", param="invoice_id")
    if invoice.state == State.VOID:
        return invoice
    if invoice.state != State.OPEN or invoice.amount_received > 0:
        raise PaymentsError("invoice_not_voidable",
                            f"only an open invoice that has received nothing can be voided (this one is {invoice.state})")
    invoice.state = State.VOID
    invoice.save(update_fields=["state", "updated_at"])
    _record_state(invoice)
    return invoice


@transaction.atomic
def invoice_refund_excess(*, merchant_id: int, invoice_id: str) -> tuple[Invoice, list[Refund]]:
    """Refund what the invoice received beyond its amount (or everything, when it expired without
    being paid in full) to the payers, newest payment first, through the refund service.

    Refused with invoice_no_excess when there is nothing (left) to refund: a second call after a
    refund finds no excess, so repeating the request changes nothing. Event: refund.created per
    refund, then invoice.excess_refunded."""
    invoice = Invoice.objects.select_for_update().filter(merchant_id=merchant_id, public_id=invoice_id).first()
    if invoice is None:
        raise PaymentsError("resource_missing", "no such invoice", param="id")
    left = invoice_excess(invoice)
    if left <= 0:
        raise PaymentsError("invoice_no_excess", f"invoice {invoice_id} has no excess to refund")
    refunds: list[Refund] = []
    # the hub's payments: a channel payment is refunded off-chain to its payer, one made on chain
    # through the checkout (PT_CHECKOUT, held by the hub) on chain to its refund destination; a
    # checkout payment of before the hub held them went to the merchant's own address and has
    # no hub payment to refund from (its excess stays flagged for the merchant to settle by hand)
    for row in invoice.payments.filter(source=InvoicePayment.Source.HUB).order_by("-id"):
        if left <= 0:
            break
        already = Refund.objects.filter(payment_id=row.payment_id).exclude(
            state=Refund.State.FAILED).aggregate(t=Sum("amount"))["t"]
        room = int(row.amount) - int(already or 0)
        if room <= 0:
            continue
        refund = refund_create(merchant_id=merchant_id, payment_id=row.payment_id, amount=min(room, left),
                               reason=Refund.Reason.EXCESS_PAYMENT, invoice_id=invoice.pk)
        refunds.append(refund)
        left -= int(refund.amount)
    if not refunds:
        raise PaymentsError("invoice_no_excess", f"invoice {invoice_id}'s payments are refunded already")
    event_record(type="invoice.excess_refunded", merchant_id=merchant_id,
                 data={"object": invoice_data(invoice)})
    # paid back by the refund worker (the pending refund rows are its outbox), after commit
    transaction.on_commit(lambda: jobs.send("sweep_refunds"))
    return invoice, refunds


def invoices_expire(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Expire open and partially paid invoices past their expiry. Returns how many."""
    now = now or timezone.now()
    ids = list(
        Invoice.objects.filter(state__in=[State.OPEN, State.PARTIALLY_PAID], expires_at__lte=now)
        .order_by("expires_at").values_list("id", flat=True)[:limit]
    )
    done = 0
    for pk in ids:
        with transaction.atomic():
            invoice = (
                Invoice.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state__in=[State.OPEN, State.PARTIALLY_PAID], expires_at__lte=now)
                .first()
            )
            if invoice is None:
                continue
            invoice.state = State.EXPIRED
            invoice.save(update_fields=["state", "updated_at"])
            _record_state(invoice)
            done += 1
    return done


def invoice_credit_checkout(payment: Any) -> None:
    """Listener for the hub's confirmed on-chain checkout payments (`hub.CheckoutPayment`):
    count it towards the invoice it names when the recipient is that invoice's merchant's
    receiving address. Runs inside the hub's recording transaction. The money has already
    moved on-chain, so a payment that cannot count (unknown invoice, other asset, past the late
    window) is logged and left to the merchant (its refund destination is on the record), never
    retried."""
    from payments.merchants.selectors import merchant_ids_for_addresses

    merchant_id = merchant_ids_for_addresses([payment.recipient]).get(payment.recipient)
    if merchant_id is None:
        logger.warning("checkout payment %s pays %s, no merchant's address", payment.pk, payment.recipient)
        return
    try:
        with transaction.atomic():
            invoice_apply_payment(
                invoice_id=payment.invoice_ref, merchant_id=merchant_id, payment_id=payment.pk,
                amount=int(payment.amount), asset=payment.asset, paid_at=payment.paid_at,
                source=InvoicePayment.Source.CHECKOUT,
            )
    except PaymentsError as err:
        logger.warning("checkout payment %s not counted towards %s: %s", payment.pk,
                       payment.invoice_ref, err.code)


def invoice_remaining(invoice: Invoice) -> int:
    return max(0, int(invoice.amount) - int(invoice.amount_received))


def invoice_payable(invoice: Invoice, *, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return (invoice.state in (State.OPEN, State.PARTIALLY_PAID) and invoice.expires_at > now
            and invoice_remaining(invoice) > 0)


def invoice_checkout_intent(invoice: Invoice, *, payer: str, now: datetime | None = None) -> dict[str, Any]:
    """A hub-signed intent for the Checkout contract paying exactly the invoice's remaining
    amount to the hub, which holds it for the merchant like any other receipt (custodial
    balance, settlements: payments/hub_hooks.py `checkout_received`), valid until the invoice's
    expiry at the latest; refunds of the payment go to `payer`."""
    from hub.checkout.intents import CheckoutUnavailable, intent_sign

    now = now or timezone.now()
    if not conf_payments_enabled():
        raise PaymentsError("payments_disabled", "payments are switched off; try again later")
    if not invoice_payable(invoice, now=now):
        raise PaymentsError("invoice_not_payable", f"invoice {invoice.public_id} is {invoice.state}")
    deadline = min(int(invoice.expires_at.timestamp()),
                   int(now.timestamp()) + settings.CHECKOUT_INTENT_SECONDS)
    try:
        return intent_sign(invoice_ref=invoice.public_id, recipient=None,  # the hub holds it
                           asset=invoice.asset, amount=invoice_remaining(invoice),
                           deadline=deadline, refund_destination=normalize_address(payer, param="payer"))
    except CheckoutUnavailable as err:
        raise PaymentsError("checkout_unavailable", str(err)) from None


def conf_payments_enabled() -> bool:
    from ops.models import GlobalSwitches

    return bool(GlobalSwitches.cached().payments_enabled)
