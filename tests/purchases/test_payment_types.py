"""The hub's payment types as registered at start-up, and the parsing of a PT_THREAD payment
request (its own shape: `update` is `{state}`): every refusal with its code and message, and
the exact request it makes. No database, no chain."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hub.core import UpdateRejected
from hub.purchases import types
from hub.purchases.models import Payment
from hub.purchases.services import (
    InsufficientCollateral,
    _link_secrets,
    deliver_custodial,
    deliver_in_channel,
    meta_clean,
    new_purchase_id,
    parse_payments,
    parse_thread_payment,
    pay_thread,
    payment_json,
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


# --- channel payments (PT_CHANNEL, PT_CUSTODIAL, ...): the payer's signed Payment to the hub ----

SIG = "0x" + "Ab" * 65


def channel_item(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "recipient": BOB, "type": "PT_CUSTODIAL", "meta": {"sku": "a"},
        "amount": {"amountWei": "3", "amountToken": "5"},
        "update": {"reason": "Payment", "txCount": 7, "sigUser": SIG,
                   "args": {"recipient": "hub", "amountWei": "3", "amountToken": "5"}}}
    base.update(changes)
    return base


def update_with(**changes: Any) -> dict[str, Any]:
    update = dict(channel_item()["update"])
    update.update(changes)
    return update


def test_a_channel_payment_becomes_a_request_with_its_signature_and_link_secret() -> None:
    assert parse_payments([channel_item(), channel_item(type="PT_CHANNEL")],
                          link_secrets=["s-1"]) == [
        PaymentRequest(recipient=BOB, amount_wei=3, amount_token=5, type="PT_CUSTODIAL",
                       meta={"sku": "a"}, tx_count=7, sig_user=SIG.lower(), secret="s-1"),
        PaymentRequest(recipient=BOB, amount_wei=3, amount_token=5, type="PT_CHANNEL",
                       meta={"sku": "a"}, tx_count=7, sig_user=SIG.lower(), secret=None)]
    tokens_only = channel_item(amount={"amountToken": "5"}, meta=None, update=update_with(
        args={"recipient": "hub", "amountToken": "5"}))
    wei_only = channel_item(amount={"amountWei": "1"}, update=update_with(
        args={"recipient": "hub", "amountWei": "1"}))
    [a, b] = parse_payments([tokens_only, wei_only])
    assert (a.amount_wei, a.amount_token, a.meta, b.amount_wei, b.amount_token) == (0, 5, {}, 1, 0)
    assert len(parse_payments([item()] * MAX)) == MAX


MAX = 50


@pytest.mark.parametrize(("payments", "code", "message"), [
    (None, "bad_args", "payments must be a non-empty list"),
    ({"0": item()}, "bad_args", "payments must be a non-empty list"),
    ([], "bad_args", "payments must be a non-empty list"),
    ([item()] * (MAX + 1), "bad_args", "at most 50 payments per purchase"),
    (["x"], "bad_args", "each payment must be an object"),
    ([channel_item(amount="5")], "bad_args", "amount and update must be objects"),
    ([channel_item(update=["Payment"])], "bad_args", "amount and update must be objects"),
    ([channel_item(type="PT_NOPE")], "bad_args", "unknown payment type 'PT_NOPE'"),
    ([channel_item(type=None)], "bad_args", "unknown payment type None"),
    ([channel_item(update=update_with(reason="Exchange"))], "bad_args",
     "each payment carries a user-signed Payment update"),
    ([channel_item(update=update_with(args={"recipient": "user", "amountWei": "3",
                                            "amountToken": "5"}))],
     "bad_args", "the update must pay the hub exactly the amount"),
    ([channel_item(update=update_with(args={"recipient": "hub", "amountWei": "2",
                                            "amountToken": "5"}))],
     "bad_args", "the update must pay the hub exactly the amount"),
    ([channel_item(update=update_with(args={"recipient": "hub", "amountWei": "3"}))],
     "bad_args", "the update must pay the hub exactly the amount"),
    ([channel_item(update=update_with(args=["hub"]))],
     "bad_args", "the update must pay the hub exactly the amount"),
    ([channel_item(amount={}, update=update_with(args={"recipient": "hub"}))],
     "bad_args", "a payment needs an amount"),
    ([channel_item(amount={"amountWei": "x"})], "bad_args", "amountWei is not a non-negative integer: 'x'"),
    ([channel_item(amount={"amountToken": "-5"})], "bad_args",
     "amountToken is not a non-negative integer: '-5'"),
    ([channel_item(update=update_with(args={"recipient": "hub", "amountWei": "3",
                                            "amountToken": "0x5"}))],
     "bad_args", "amountToken is not a non-negative integer: '0x5'"),
    ([channel_item(update=update_with(args={"recipient": "hub", "amountWei": 3.0,
                                            "amountToken": "5"}))],
     "bad_args", "amountWei is not a non-negative integer: 3.0"),
    ([channel_item(meta="x")], "bad_args", "payments[].meta must be an object"),
    ([channel_item(update=update_with(sigUser=None))], "bad_signature",
     "each payment update needs sigUser"),
    ([channel_item(update=update_with(txCount="seven"))], "bad_args",
     "txCount is not a non-negative integer: 'seven'"),
    ([channel_item(recipient="0xb0")], "bad_args", "recipient is not an address: '0xb0'"),
])
def test_each_malformed_channel_payment_is_refused_with_its_code_and_message(
        payments: Any, code: str, message: str) -> None:
    with pytest.raises(UpdateRejected) as refused:
        parse_payments(payments)
    assert (refused.value.code, refused.value.message) == (code, message)


@pytest.mark.parametrize(("meta", "message"), [
    ([], "meta must be an object"),
    ({"note": "a\x00b"}, "meta: NUL characters (\\u0000) are not allowed"),
    ({"invoiceId": 12}, "meta.invoiceId must be a string"),
    ({"invoice_id": ["i"]}, "meta.invoice_id must be a string"),
])
def test_a_meta_that_cannot_be_stored_or_names_an_invoice_wrongly_is_refused(
        meta: Any, message: str) -> None:
    with pytest.raises(UpdateRejected) as refused:
        meta_clean(meta)
    assert (refused.value.code, refused.value.message) == ("bad_args", message)


def test_a_storable_meta_is_copied() -> None:
    meta = {"invoiceId": "inv_1", "invoice_id": None, "n": 1}
    cleaned = meta_clean(meta)
    assert cleaned == meta and cleaned is not meta


def test_each_payment_gets_its_own_link_secret_or_the_purchases() -> None:
    raw = [{"meta": {"secret": "own"}}, {"meta": {}}, {"meta": {"secret": 5}}, "x", {"meta": "m"}]
    assert _link_secrets({"secret": "shared"}, raw) == ["own", "shared", None, "shared", "shared"]
    assert _link_secrets({}, raw) == ["own", None, None, None, None]
    assert _link_secrets({"secret": "shared"}, {"meta": {}}) == []


def test_a_payment_is_shown_with_decimal_strings_and_its_ids() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    payment = Payment(public_id="pay_1", purchase_id="pur_1", sender=BOB, recipient="0x" + "a" * 40,
                      amount_wei=10**30, amount_token=7, type="PT_CHANNEL", status="pending",
                      meta={"k": "v"}, created_at=at)
    assert payment_json(payment) == {
        "id": "pay_1", "purchaseId": "pur_1", "sender": BOB, "recipient": "0x" + "a" * 40,
        "amount": {"amountWei": str(10**30), "amountToken": "7"}, "type": "PT_CHANNEL",
        "status": "pending", "meta": {"k": "v"}, "createdOn": "2026-01-02T03:04:05+00:00"}


def test_purchase_ids_and_the_collateral_refusal() -> None:
    first, second = new_purchase_id(), new_purchase_id()
    assert re.fullmatch(r"pur_[0-9a-f]{32}", first) and first != second
    short = InsufficientCollateral(BOB, 3, 5)
    assert (short.code, short.status, short.recipient, short.amount_wei, short.amount_token) == (
        "insufficient_collateral", 409, BOB, 3, 5)
    assert short.message == (f"the hub has not enough collateral in {BOB}'s channel yet; "
                             "a top-up was requested")
