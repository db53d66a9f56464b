"""Who hears that payments settled. The hub names no listener: the layers above register
theirs when their app is ready (the merchant platform: `payments/apps.py`).

A listener runs inside the transaction that completed the payments (a purchase, or a held
optimistic payment forwarded later), so its writes commit with them; what it sends out
(webhooks, pushes) it schedules after commit itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hub.purchases.models import Payment

Listener = Callable[[Sequence[Payment]], None]

_listeners: list[Listener] = []


def on_payments_settled(listener: Listener) -> None:
    """Register `listener(payments)`; registering the same function twice keeps one."""
    if listener not in _listeners:
        _listeners.append(listener)


def payments_settled(payments: Sequence[Payment]) -> None:
    """Tell every listener about `payments` (each listener picks the completed ones it wants)."""
    for listener in list(_listeners):
        listener(payments)
