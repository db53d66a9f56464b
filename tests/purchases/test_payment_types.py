"""The hub's payment types as registered at start-up, and the parsing of a PT_THREAD payment
request (its own shape: `update` is `{state}`): every refusal with its code and message, and
the exact request it makes. No database, no chain."""

from __future__ import annotations

from typing import Any

import pytest

from hub.core import UpdateRejected
from hub.purchases import types
from hub.purchases.services import (
    deliver_custodial,
    deliver_in_channel,
    parse_payments,
    parse_thread_payment,
    pay_thread,
    register_payment_types,
)
from hub.purchases.types import PaymentRequest, PaymentType

BOB = "0x" + "b0" * 20
STATE = {"threadId": 1, "txCount": 2, "sigA": "0xsig"}


def test_the_hubs_own_payment_types_are_registered_with_their_handlers() -> None:
    saved = dict(types._types)
    types._types.clear()
    try:
        register_payment_types()
        registered = dict(types._types)
    finally:
        types._types.clear()
        types._types.update(saved)
    assert registered == {
        "PT_CHANNEL": PaymentType("PT_CHANNEL", deliver=deliver_in_channel,
                                  locks_recipient_channel=True),
        "PT_OPTIMISTIC": PaymentType("PT_OPTIMISTIC", deliver=deliver_in_channel,
                                     locks_recipient_channel=True),
        "PT_CUSTODIAL": PaymentType("PT_CUSTODIAL", deliver=deliver_custodial),
        "PT_THREAD": PaymentType("PT_THREAD", pay=pay_thread, parse=parse_thread_payment),
    }
    assert registered["PT_CHANNEL"].locks_recipient_channel is True
    assert registered["PT_OPTIMISTIC"].locks_recipient_channel is True


def item(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"recipient": BOB.upper().replace("0X", "0x"), "type": "PT_THREAD",
                            "meta": {"orderId": "o-7"},
                            "amount": {"amountWei": "3", "amountToken": "5"},
                            "update": {"state": STATE}}
    base.update(changes)
    return base


def test_a_thread_payment_becomes_a_request_carrying_the_senders_state() -> None:
    assert parse_payments([item()]) == [PaymentRequest(
        recipient=BOB, amount_wei=3, amount_token=5, type="PT_THREAD", meta={"orderId": "o-7"},
        tx_count=0, sig_user="", thread_state=STATE)]
    [wei_only] = parse_payments([item(amount={"amountWei": "4"}, meta=None)])
    assert (wei_only.amount_wei, wei_only.amount_token, wei_only.meta) == (4, 0, {})
    [token_only] = parse_payments([item(amount={"amountToken": "1"})])
    assert (token_only.amount_wei, token_only.amount_token) == (0, 1)
    [one_wei] = parse_payments([item(amount={"amountWei": "1", "amountToken": "0"})])
    assert (one_wei.amount_wei, one_wei.amount_token) == (1, 0)
    direct = parse_thread_payment(item(), {"amountToken": 9}, {"state": STATE})
    assert (direct.amount_wei, direct.amount_token, direct.tx_count, direct.sig_user,
            direct.type) == (0, 9, 0, "", "PT_THREAD")
    assert isinstance(direct.meta, dict) and direct.thread_state is STATE


@pytest.mark.parametrize(("payment", "message"), [
    (item(update={}), "a thread payment carries update.state"),
    (item(update={"state": "0xsigned"}), "a thread payment carries update.state"),
    (item(amount={}), "a payment needs an amount"),
    (item(amount={"amountWei": "0", "amountToken": "0"}), "a payment needs an amount"),
    (item(meta=[1]), "payments[].meta must be an object"),
    (item(meta={"invoiceId": 5}), "payments[].meta.invoiceId must be a string"),
    (item(amount={"amountWei": "-1"}), "amountWei is not a non-negative integer: '-1'"),
    (item(amount={"amountToken": 1.5}), "amountToken is not a non-negative integer: 1.5"),
    (item(recipient="0x1234"), "recipient is not an address: '0x1234'"),
    (item(recipient=None), "recipient is not an address: None"),
])
def test_each_malformed_thread_payment_is_refused_with_its_message(payment: dict[str, Any],
                                                                   message: str) -> None:
    with pytest.raises(UpdateRejected) as refused:
        parse_payments([payment])
    assert (refused.value.code, refused.value.message) == ("bad_args", message)
