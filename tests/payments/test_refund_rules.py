"""The rules of `refund_create` and of a refund's end, called directly (no chain, no channel):
what a refund may take (what is left of its payment, the custodial balance minus the pending
refunds of the same asset), the stable code and parameter of every refusal with nothing
written, where it goes, and that a refund ends once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from hub.ledger.accounts import ONCHAIN_PAYOUTS
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from hub.purchases.models import Payment, RefundExecution
from linkpay.api import issue_refund_link
from linkpay.models import Link
from payments import conf
from payments.errors import PaymentsError
from payments.events.models import Event
from payments.merchants.models import ReceivingAddress
from payments.refunds.execution import (
    GIVE_UP_AFTER,
    RefundOutcome,
    issue_refund_links_with,
    refund_execute,
    refunds_sweep,
)
from payments.refunds.models import Refund
from payments.refunds.services import (
    refund_create,
    refund_mark_failed,
    refund_mark_succeeded,
    refunds_pending,
)
from tests.chain_env import clear_chain_caches
from tests.dashboard.helpers import CONTRACT, HUB_KEY, make_payment
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


@pytest.fixture
def hub_key(settings: Any, tmp_path: Path) -> Iterator[None]:
    """The hub key that countersigned the test payments (tests.dashboard.helpers), configured
    as the hub's: the hub can then pay in those channels and queue transactions (no node)."""
    key_file = tmp_path / "hub.key"
    key_file.write_text(HUB_KEY.hex())
    settings.HUB_PRIVATE_KEY_FILE, settings.HUB_KEYSTORE_FILE = key_file, None
    clear_chain_caches()
    yield
    clear_chain_caches()


def checkout(shop: Shop, *, wei: int, refund_to: str) -> Payment:
    """A payment made on chain through the checkout (PT_CHECKOUT): its refund is queued on chain,
    which needs no channel and no node until the outbox sends it."""
    payment = make_payment(shop.address, wei=wei)
    Payment.objects.filter(pk=payment.pk).update(type=Payment.Type.CHECKOUT, meta={"refundDestination": refund_to})
    payment.refresh_from_db()
    return payment


def test_a_refund_that_cannot_be_executed_is_logged_by_id_and_the_sweep_goes_on(
        shop: Shop, hub_key: None, caplog: pytest.LogCaptureFixture) -> None:
    broken = refund_create(merchant_id=shop.merchant.pk, payment_id=make_payment(shop.address, wei=100).pk)
    Refund.objects.filter(pk=broken.pk).update(payment_id=10**15)  # its payment is gone: the execution raises
    queued = refund_create(merchant_id=shop.merchant.pk,
                           payment_id=checkout(shop, wei=300, refund_to="0x" + "ab" * 20).pk)
    assert refunds_pending() == [broken.public_id, queued.public_id]
    with caplog.at_level("ERROR", logger="payments.refunds.execution"):
        assert refunds_sweep() == 1  # the one after it was queued, and counted
    assert [(r.levelname, r.getMessage(), r.exc_info is not None and r.exc_info[0] is Payment.DoesNotExist)
            for r in caplog.records] == [("ERROR", f"refund {broken.public_id} could not be executed", True)]
    queued.refresh_from_db()
    assert queued.chain_transaction_id is not None
    # on its way on chain: executing it again does nothing (the outbox records its outcome)
    assert refund_execute(refund_id=queued.public_id, allow_link=True) == RefundOutcome("")
    assert Refund.objects.get(pk=broken.pk).state == Refund.State.PENDING  # left for the next sweep


def test_each_refusal_says_what_is_wrong_in_the_apis_base_units(shop: Shop) -> None:
    """The message the API answers beside the code (amounts in base units, the asset named)."""
    payment = make_payment(shop.address, wei=1000)
    merchant = shop.merchant.pk
    assert refused(merchant_id=merchant, payment_id=payment.pk + 10**9).message == f"no payment {payment.pk + 10**9}"
    assert refused(merchant_id=merchant, payment_id=payment.pk, amount=0).message == (
        "amount is a positive integer of base units")
    assert refused(merchant_id=merchant, payment_id=payment.pk, amount=1001).message == "at most 1000 wei is left to refund"
    assert refused(merchant_id=merchant, payment_id=payment.pk, amount=1, reason="bored").message == "unknown reason"
    credit_custodial(shop.address, "wei", -300)
    assert refused(merchant_id=merchant, payment_id=payment.pk, amount=701).message == "the available balance is 700 wei"
    ended = refund_create(merchant_id=merchant, payment_id=payment.pk, amount=700)
    credit_custodial(shop.address, "wei", 300)
    refund_create(merchant_id=merchant, payment_id=payment.pk)  # the last 300
    assert refused(merchant_id=merchant, payment_id=payment.pk).message == "the payment is refunded in full already"
    refund_mark_failed(refund_id=ended.public_id, reason="payer_unreachable")
    with pytest.raises(PaymentsError) as error:
        refund_mark_succeeded(refund_id=ended.public_id)
    assert (error.value.code, error.value.message) == ("refund_not_pending", f"refund {ended.public_id} is failed")


def test_a_merchant_without_receiving_addresses_has_no_payment_to_refund(shop: Shop) -> None:
    payment = make_payment(shop.address, wei=1000)
    ReceivingAddress.objects.filter(merchant=shop.merchant).delete()
    missing = refused(merchant_id=shop.merchant.pk, payment_id=payment.pk)
    assert (missing.code, missing.param) == ("resource_missing", "payment")


def test_a_refund_records_its_value_in_the_books_currency_and_its_events_are_the_merchants(
        shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """Valued when it is asked for, in the books' currency, at the token's peg; refund.created and
    the refund's end are events of its merchant."""
    monkeypatch.setattr(conf, "FIAT_BOOKS_CURRENCY", "EUR")
    monkeypatch.setitem(conf.FIAT_PER_USD, "EUR", "0.5")
    payment = make_payment(shop.address, token=5 * 10**17)
    refund = refund_create(merchant_id=shop.merchant.pk, payment_id=payment.pk, amount=3 * 10**17)
    refund.refresh_from_db()
    assert (refund.fiat_currency, refund.fiat_value, refund.fiat_rate) == ("EUR", Decimal("0.15"), Decimal("0.5"))
    assert refund.fiat_rate_source.startswith("peg") and refund.fiat_rate_at is not None
    refund_mark_succeeded(refund_id=refund.public_id)
    events = Event.objects.filter(type__startswith="refund.").order_by("id")
    assert [(e.type, e.merchant_id) for e in events] == [
        ("refund.created", shop.merchant.pk), ("refund.succeeded", shop.merchant.pk)]


def test_a_refund_the_balance_no_longer_covers_fails_when_executed_and_moves_nothing(
        shop: Shop, hub_key: None) -> None:
    """Between the request and its execution the balance was paid out: the execution takes
    nothing and the refund fails as balance_insufficient (the sweep counts it as nothing done)."""
    payment = checkout(shop, wei=1000, refund_to="0x" + "ab" * 20)
    refund = refund_create(merchant_id=shop.merchant.pk, payment_id=payment.pk, amount=600)
    credit_custodial(shop.address, "wei", -401)  # 599 are left
    entries = LedgerEntry.objects.count()
    assert refund_execute(refund_id=refund.public_id, allow_link=True) == RefundOutcome("")
    refund.refresh_from_db()
    assert (refund.state, refund.failure_reason, refund.chain_transaction_id) == (
        Refund.State.FAILED, "balance_insufficient", None)
    assert LedgerEntry.objects.count() == entries
    assert account_balance(f"custodial:{shop.address}", "wei") == 599
    assert refund_execute(refund_id=refund.public_id, allow_link=True).method == ""  # ended: nothing to do
    exact = refund_create(merchant_id=shop.merchant.pk, payment_id=payment.pk, amount=599)  # all of it
    assert refund_execute(refund_id=exact.public_id, allow_link=True).method == "onchain"
    assert account_balance(f"custodial:{shop.address}", "wei") == 0
    postings = LedgerEntry.objects.filter(memo=f"refund {exact.public_id} on chain")
    assert sorted((e.account, e.asset, int(e.amount)) for e in postings) == sorted([
        (f"custodial:{shop.address}", "wei", -599), (ONCHAIN_PAYOUTS, "wei", 599)])  # wei only


def test_a_payer_the_hub_cannot_pay_in_the_channel_is_paid_with_a_link_only_when_links_are_allowed(
        shop: Shop, hub_key: None, settings: Any) -> None:
    """The hub holds nothing in the payer's channel (a payment with no channel history): the
    sweep leaves the refund pending; the merchant's request (links allowed) pays it into a link
    from the custodial balance, noted with the refund's id."""
    settings.CHANNEL_MANAGER_ADDRESS = CONTRACT
    issue_refund_links_with(issue_refund_link)  # as the links app registers it at start
    payment = make_payment(shop.address, wei=1000)
    refund = refund_create(merchant_id=shop.merchant.pk, payment_id=payment.pk, amount=400)
    assert refunds_sweep() == 0
    assert refund_execute(refund_id=refund.public_id, allow_link=False) == RefundOutcome("")
    assert Refund.objects.get(pk=refund.pk).state == Refund.State.PENDING and not Link.objects.exists()

    outcome = refund_execute(refund_id=refund.public_id, allow_link=True)
    assert outcome.method == "link" and outcome.link is not None
    link = Link.objects.get(public_id=outcome.link.public_id)
    assert (int(link.amount), link.asset, link.merchant_id, link.note) == (
        400, "wei", shop.merchant.pk, f"Refund {refund.public_id}")
    execution = RefundExecution.objects.get(refund_public_id=refund.public_id)
    assert (execution.method, execution.link_public_id) == ("link", link.public_id)
    assert Refund.objects.get(pk=refund.pk).state == Refund.State.SUCCEEDED
    assert account_balance(f"custodial:{shop.address}", "wei") == 600
    # paid back: executing it again pays nothing more
    assert refund_execute(refund_id=refund.public_id, allow_link=True) == RefundOutcome("")
    assert (Link.objects.count(), account_balance(f"custodial:{shop.address}", "wei")) == (1, 600)


def test_an_unreachable_payers_refund_fails_only_once_more_than_24_hours_have_passed(
        shop: Shop, hub_key: None, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Django's clock held still (the refund's created_at and the platform clock both read it):
    at exactly 24 hours the refund still waits; a microsecond later it fails, taking nothing."""
    settings.CHANNEL_MANAGER_ADDRESS = CONTRACT  # the hub holds nothing in the payer's channel
    start = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: start)
    refund = refund_create(merchant_id=shop.merchant.pk, payment_id=make_payment(shop.address, wei=1000).pk)
    assert Refund.objects.get(pk=refund.pk).created_at == start
    monkeypatch.setattr(timezone, "now", lambda: start + GIVE_UP_AFTER)
    assert refund_execute(refund_id=refund.public_id, allow_link=False) == RefundOutcome("")
    assert Refund.objects.get(pk=refund.pk).state == Refund.State.PENDING
    monkeypatch.setattr(timezone, "now", lambda: start + GIVE_UP_AFTER + timedelta(microseconds=1))
    assert refund_execute(refund_id=refund.public_id, allow_link=False) == RefundOutcome("")
    failed = Refund.objects.get(pk=refund.pk)
    assert (failed.state, failed.failure_reason) == (Refund.State.FAILED, "payer_unreachable")
    assert account_balance(f"custodial:{shop.address}", "wei") == 1000
