"""What the hub does with a confirmed on-chain checkout payment made out to itself: it holds the
money for the merchant, as it holds a channel payment to a merchant without a channel. The
payment becomes a hub `Payment` of type PT_CHECKOUT (sender the payer, recipient the merchant's
receiving address) and the merchant's custodial balance is credited from
`hub:checkout_receipts` (what the contract paid the hub), so that balances, settlements,
refunds, the merchant's payment list and its events see it like any other receipt."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from hub.checkout.models import CheckoutPayment
from hub.custodial.services import custodial_credit
from hub.ledger.accounts import CHECKOUT_RECEIPTS
from hub.purchases.models import Payment, Purchase
from hub.purchases.services import new_purchase_id


def checkout_payment_hold(*, checkout: CheckoutPayment, recipient: str,
                          meta: dict[str, Any]) -> Payment:
    """Inside the transaction that records `checkout` (once per CheckoutPaid event): the hub
    Payment for it and the custodial credit of `recipient` (a merchant's receiving address).
    A second call for the same checkout payment returns the first Payment."""
    existing = Payment.objects.filter(type=Payment.Type.CHECKOUT,
                                      meta__checkoutPaymentId=checkout.pk).first()
    if existing is not None:
        return existing
    wei = int(checkout.amount) if checkout.asset == "wei" else 0
    token = int(checkout.amount) if checkout.asset == "token" else 0
    purchase = Purchase.objects.create(id=new_purchase_id(), sender=checkout.payer,
                                       meta={"checkoutPaymentId": checkout.pk})
    payment = Payment.objects.create(
        purchase=purchase, sender=checkout.payer, recipient=recipient.lower(),
        amount_wei=wei, amount_token=token, type=Payment.Type.CHECKOUT,
        meta={**meta, "checkoutPaymentId": checkout.pk, "txHash": checkout.tx_hash,
              "refundDestination": checkout.refund_destination},
        payer_update=None, completed_at=checkout.paid_at or timezone.now(),
    )
    custodial_credit(recipient=recipient, amount_wei=wei, amount_token=token,
                     memo=f"checkout payment {checkout.pk} ({checkout.tx_hash})",
                     counter_account=CHECKOUT_RECEIPTS)
    return payment
