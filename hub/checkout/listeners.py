"""Who hears that a checkout payment was confirmed. The hub names no listener: the merchant
platform registers its own when its app is ready (`payments/apps.py`), and credits the invoice.

A listener runs inside the transaction that records the payment (the ingester's dispatch of the
`CheckoutPaid` event), so its writes commit with it, exactly once; a listener that raises rolls the
record back and the event is retried."""

from __future__ import annotations

from collections.abc import Callable

from hub.checkout.models import CheckoutPayment

Listener = Callable[[CheckoutPayment], None]

_listeners: list[Listener] = []


def on_checkout_paid(listener: Listener) -> None:
    """Register `listener(payment)`; registering the same function twice keeps one."""
    if listener not in _listeners:
        _listeners.append(listener)


def checkout_paid(payment: CheckoutPayment) -> None:
    for listener in list(_listeners):
        listener(payment)
