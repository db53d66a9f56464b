"""Who hears that payments settled. The hub names no listener: the layers above register
theirs when their app is ready (the merchant platform: `payments/apps.py`).

A listener runs inside the transaction that completed the payments (a purchase, or a held
optimistic payment forwarded later), so its writes commit with them; what it sends out
(webhooks, pushes) it schedules after commit itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hub.purchases.models import Payment

Listener = Callable[..., None]

_listeners: list[Listener] = []
_lookups: dict[Listener, str] = {}


def on_payments_settled(listener: Listener, *, recipient_sql: str | None = None) -> None:
    """Register `listener(payments)`; registering the same function twice keeps one.

    `recipient_sql`: an SQL expression over a recipient's address, `c."user"` (model metadata
    and constants only), whose value the listener looks up for each recipient. A purchase reads
    it with the lock on the recipients' channels (no round trip of its own) and calls
    `listener(payments, known={address: value})`; recipients missing from `known` the listener
    looks up itself (`known` is empty when payments settle elsewhere)."""
    if listener not in _listeners:
        _listeners.append(listener)
    if recipient_sql is not None:
        _lookups[listener] = recipient_sql


def recipient_lookups() -> tuple[str, ...]:
    """The listeners' `recipient_sql`, in registration order."""
    return tuple(_lookups[listener] for listener in _listeners if listener in _lookups)


def payments_settled(payments: Sequence[Payment],
                     known: Sequence[Mapping[str, Any]] | None = None) -> None:
    """Tell every listener about `payments` (each listener picks the completed ones it wants).
    `known`: per `recipient_lookups()` expression, the values read for the recipients."""
    lookups = iter(known or ())
    for listener in list(_listeners):
        if listener in _lookups:
            listener(payments, known=next(lookups, {}))
        else:
            listener(payments)
