"""The rules of `refund_create` and of a refund's end, called directly (no chain, no channel):
what a refund may take (what is left of its payment, the custodial balance minus the pending
refunds of the same asset), the stable code and parameter of every refusal with nothing
written, where it goes, and that a refund ends once."""

from __future__ import annotations

from typing import Any

import pytest

from hub.purchases.models import Payment
from payments.errors import PaymentsError
from payments.events.models import Event
from payments.refunds.models import Refund
from payments.refunds.services import (
    refund_create,
    refund_mark_failed,
    refund_mark_succeeded,
    refunds_pending,
)
from tests.dashboard.helpers import make_payment
from tests.payments.conftest import Shop, credit_custodial

pytestmark = pytest.mark.django_db


def refused(**kwargs: Any) -> PaymentsError:
    before = (Refund.objects.count(), Event.objects.count())
    with pytest.raises(PaymentsError) as error:
        refund_create(**kwargs)
    assert (Refund.objects.count(), Event.objects.count()) == before
    return error.value


def test_every_refusal_has_its_code_and_parameter_and_writes_nothing(shop: Shop, other_shop: Shop) -> None:
    payment = make_payment(shop.address, wei=1000)
    merchant = shop.merchant.pk
    theirs = refused(merchant_id=other_shop.merchant.pk, payment_id=payment.pk)
    assert (theirs.code, theirs.param) == ("resource_missing", "payment")
    for amount in (0, -1, True, "5", 1.5):
        bad = refused(merchant_id=merchant, payment_id=payment.pk, amount=amount)
        assert (bad.code, bad.param) == ("amount_invalid", "amount")
    too_much = refused(merchant_id=merchant, payment_id=payment.pk, amount=1001)
    assert (too_much.code, too_much.param, too_much.amount) == ("refund_exceeds_payment", "amount", (1000, "wei"))
    reason = refused(merchant_id=merchant, payment_id=payment.pk, amount=10, reason="bored")
    assert (reason.code, reason.param) == ("parameter_invalid", "reason")

    first = refund_create(merchant_id=merchant, payment_id=payment.pk, amount=600)
    assert (int(first.amount), first.asset, first.state) == (600, "wei", Refund.State.PENDING)
    rest = refund_create(merchant_id=merchant, payment_id=payment.pk)  # default: what is left
    assert int(rest.amount) == 400
    done = refused(merchant_id=merchant, payment_id=payment.pk)
    assert (done.code, done.param) == ("refund_exceeds_payment", "amount")
    one_more = refused(merchant_id=merchant, payment_id=payment.pk, amount=1)
    assert (one_more.code, one_more.amount) == ("refund_exceeds_payment", (0, "wei"))
    # a failed refund no longer counts against its payment
    refund_mark_failed(refund_id=rest.public_id, reason="payer_unreachable")
    assert int(refund_create(merchant_id=merchant, payment_id=payment.pk, amount=400).amount) == 400


def test_the_balance_a_refund_may_take_is_the_custodial_balance_minus_pending_refunds_of_its_asset(
        shop: Shop) -> None:
    merchant = shop.merchant.pk
    wei_payment = make_payment(shop.address, wei=1000)
    token_payment = make_payment(shop.address, token=50)
    second = make_payment(shop.address, wei=1000)
    credit_custodial(shop.address, "wei", -500)  # part of it was paid out: 1500 wei are left
    refund_create(merchant_id=merchant, payment_id=wei_payment.pk, amount=1000)
    token_refund = refund_create(merchant_id=merchant, payment_id=token_payment.pk)  # the token's own balance
    assert (int(token_refund.amount), token_refund.asset) == (50, "token")
    short = refused(merchant_id=merchant, payment_id=second.pk, amount=501)
    assert (short.code, short.param, short.amount) == ("balance_insufficient", "amount", (500, "wei"))
    assert int(refund_create(merchant_id=merchant, payment_id=second.pk, amount=500).amount) == 500
    credit_custodial(shop.address, "wei", -100)  # below what the pending refunds take: 0 is available
    nothing = refused(merchant_id=merchant, payment_id=second.pk, amount=1)
    assert (nothing.code, nothing.amount) == ("balance_insufficient", (0, "wei"))


def test_a_refund_goes_to_the_payer_or_to_the_refund_destination_of_an_on_chain_payment(shop: Shop) -> None:
    channel_payment = make_payment(shop.address, wei=100)
    refund = refund_create(merchant_id=shop.merchant.pk, payment_id=channel_payment.pk, amount=10,
                           reason=Refund.Reason.DUPLICATE, metadata={"order": "42"})
    assert (refund.recipient, refund.reason, refund.metadata) == (channel_payment.sender, "duplicate", {"order": "42"})
    checkout = make_payment(shop.address, wei=100)
    destination = "0x" + "Ab" * 20
    Payment.objects.filter(pk=checkout.pk).update(type=Payment.Type.CHECKOUT,
                                                   meta={"refundDestination": destination})
    assert refund_create(merchant_id=shop.merchant.pk, payment_id=checkout.pk, amount=10).recipient == destination.lower()
    created = Event.objects.filter(type="refund.created").order_by("id").first()
    assert created is not None and created.data["object"]["id"] == refund.public_id


def test_a_refund_ends_once_and_pending_refunds_are_listed_oldest_first(shop: Shop) -> None:
    payment = make_payment(shop.address, wei=1000)
    older, newer, ended = (refund_create(merchant_id=shop.merchant.pk, payment_id=payment.pk, amount=100)
                           for _ in range(3))
    failed = refund_mark_failed(refund_id=ended.public_id, reason="x" * 2500)
    assert (failed.state, len(failed.failure_reason)) == (Refund.State.FAILED, 2000)
    assert failed.completed_at is not None
    assert refunds_pending() == [older.public_id, newer.public_id]
    again = refund_mark_failed(refund_id=ended.public_id, reason="other")  # the same end: nothing changes
    assert (again.state, again.failure_reason) == (Refund.State.FAILED, "x" * 2000)
    with pytest.raises(PaymentsError) as error:
        refund_mark_succeeded(refund_id=ended.public_id)
    assert error.value.code == "refund_not_pending"
    succeeded = refund_mark_succeeded(refund_id=older.public_id)
    assert succeeded.state == Refund.State.SUCCEEDED and succeeded.completed_at is not None
    assert refund_mark_succeeded(refund_id=older.public_id).state == Refund.State.SUCCEEDED
    types = list(Event.objects.filter(type__in=["refund.failed", "refund.succeeded"]).values_list("type", flat=True))
    assert sorted(types) == ["refund.failed", "refund.succeeded"]  # one event per end
    assert refunds_pending() == [newer.public_id]


def test_another_merchants_pending_refunds_take_nothing_from_this_ones_balance(shop: Shop, other_shop: Shop) -> None:
    mine = make_payment(shop.address, wei=1000)
    theirs = make_payment(other_shop.address, wei=1000)
    refund_create(merchant_id=other_shop.merchant.pk, payment_id=theirs.pk, amount=1000)  # theirs, pending
    assert int(refund_create(merchant_id=shop.merchant.pk, payment_id=mine.pk, amount=1000).amount) == 1000
    short = refused(merchant_id=other_shop.merchant.pk, payment_id=theirs.pk, amount=1)
    assert short.code == "refund_exceeds_payment"  # their own refund took all of their payment


def test_one_base_unit_of_tokens_is_refunded_in_tokens_and_a_channel_payment_to_its_payer(shop: Shop) -> None:
    tiny = make_payment(shop.address, token=1)
    refund = refund_create(merchant_id=shop.merchant.pk, payment_id=tiny.pk)
    assert (int(refund.amount), refund.asset) == (1, "token")
    # a refund destination in a channel payment's meta is not where its refund goes (only an
    # on-chain checkout payment's payer has no channel to be paid back into)
    channel_payment = make_payment(shop.address, wei=100, meta={"refundDestination": "0x" + "cd" * 20})
    back = refund_create(merchant_id=shop.merchant.pk, payment_id=channel_payment.pk, amount=5)
    assert back.recipient == channel_payment.sender


def test_a_succeeded_refund_records_the_payment_that_paid_it_back(shop: Shop) -> None:
    payment = make_payment(shop.address, wei=1000)
    refund = refund_create(merchant_id=shop.merchant.pk, payment_id=payment.pk, amount=100)
    paid_back = make_payment(shop.address, wei=1)
    done = refund_mark_succeeded(refund_id=refund.public_id, refund_payment_id=paid_back.pk)
    done.refresh_from_db()
    assert (done.state, done.refund_payment_id) == (Refund.State.SUCCEEDED, paid_back.pk)
    event = Event.objects.get(type="refund.succeeded")
    assert (event.data["object"]["id"], event.data["object"]["status"]) == (refund.public_id, "succeeded")
