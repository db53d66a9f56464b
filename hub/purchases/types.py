"""The payment types a purchase may carry, each mapped to its handler.

Adding a payment type is one module with its handler plus one `register` call where its app
becomes ready: the hub's own types in hub/purchases/apps.py, PT_LINK in linkpay/apps.py.

Every handler runs inside the purchase's transaction. Most types are paid the same way (the
payer pays the hub in their channel with a user-signed Payment) and differ in what the hub does
with it: `deliver` hands the hub's side to the recipient. A type paid some other way settles
the whole payment itself (`pay`; PT_THREAD is paid with a thread state) and may parse its own
request shape (`parse`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.channels import records as channels
from hub.channels.models import Channel
from hub.core import ChannelState
from hub.purchases.models import Payment, Purchase


@dataclass(frozen=True)
class PaymentRequest:
    recipient: str
    amount_wei: int
    amount_token: int
    type: str
    meta: dict[str, Any]
    tx_count: int
    sig_user: str
    secret: str | None = None  # PT_LINK only; never stored
    thread_state: Mapping[str, Any] | None = None  # PT_THREAD only: the sender-signed state


@dataclass
class Purchasing:
    """One purchase being applied: its row, the channels it locked and the latest
    state of each (handlers that pay in a channel record the state they produce)."""

    purchase: Purchase
    sender: str
    locked: dict[str, Channel]
    states: dict[str, ChannelState] = field(default_factory=dict)

    def state_of(self, user: str) -> ChannelState:
        if user not in self.states:
            self.states[user] = channels.channel_state(self.locked[user], user)
        return self.states[user]


Deliver = Callable[[Purchasing, Payment, PaymentRequest], None]
Pay = Callable[[Purchasing, PaymentRequest, dict[str, Any]], Payment]
Parse = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], PaymentRequest]


@dataclass(frozen=True)
class PaymentType:
    code: str  # "PT_CHANNEL", ...: what the client sends as `type`
    deliver: Deliver | None = None  # after the payer paid the hub in their channel
    pay: Pay | None = None  # instead of the channel payment: the type settles it all
    parse: Parse | None = None  # (item, amount, update) -> request, for a shape of its own
    locks_recipient_channel: bool = False  # lock the recipient's channel with the payer's


_types: dict[str, PaymentType] = {}


def register(ptype: PaymentType) -> None:
    """Map `ptype.code` to its handler (registering the same code again replaces it)."""
    if (ptype.deliver is None) == (ptype.pay is None):
        raise ValueError(f"{ptype.code}: a payment type has exactly one of deliver and pay")
    _types[ptype.code] = ptype


def payment_type(code: object) -> PaymentType | None:
    return _types.get(code) if isinstance(code, str) else None


def registered() -> list[str]:
    return sorted(_types)
