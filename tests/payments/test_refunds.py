"""Refunds on a real anvil and database: a refund never exceeds its payment (also when two are
asked for at once), a payer whose channel cannot receive gets a link, a pending refund is paid by
the sweep exactly once, and an unreachable payer's refund fails after 24 hours."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connection

from hub.channels.records import channel_find, channel_state
from hub.core import ChannelState
from hub.ledger.accounts import CUSTODIAL_FLOAT
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from hub.purchases.models import Payment, RefundExecution
from linkpay.api import issue_refund_link
from linkpay.models import Link
from payments.events.models import Event
from payments.refunds.execution import issue_refund_links_with, refund_execute, refunds_sweep
from payments.refunds.models import Refund
from payments.refunds.services import refund_create
from tests.chain_env import TOKEN, ChainEnv
from tests.conftest import MovableClock
from tests.hub.api.user_sim import UserSim
from tests.payments.conftest import Shop, credit_custodial
from tests.purchases.helpers import accept_hub_updates, funded_user, pay_request

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def latest_state(address: str) -> ChannelState:
    return channel_state(channel_find(address), address)


def pay_shop(env: ChainEnv, shop: Shop, *, tokens: int, payer: UserSim | None = None) -> tuple[UserSim, str]:
    """The payer pays the shop `tokens` into its custodial balance; returns the payer and the
    payment's API id."""
    payer = payer or funded_user(env, tokens=20 * TOKEN)
    response = payer.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(payer, shop.address, token=tokens, ptype="PT_CUSTODIAL")]})
    assert response.status_code == 200, response.content
    listed = shop.client().get("/api/v1/payments").json()["data"]
    return payer, listed[0]["id"]


def payment_pk(api_id: str) -> int:
    return Payment.objects.get(public_id=api_id).pk


def drain_hub_balance(env: ChainEnv, payer: UserSim) -> None:
    """Another user pays `payer` everything the hub holds in the payer's channel: the hub can no
    longer pay the payer there."""
    owed = latest_state(payer.address).balance_token_hub
    other = funded_user(env, tokens=owed + TOKEN)
    response = other.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(other, payer.address, token=owed, ptype="PT_CHANNEL")]})
    assert response.status_code == 200, response.content
    assert latest_state(payer.address).balance_token_hub == 0


def test_refunds_beyond_what_is_left_of_the_payment_are_refused_and_change_nothing(
        hub_chain: ChainEnv, shop: Shop) -> None:
    credit_custodial(shop.address, "token", 10 * TOKEN)  # the balance is not what stops them
    alice, payment = pay_shop(hub_chain, shop, tokens=5 * TOKEN)
    api = shop.client()
    first = api.post("/api/v1/refunds", {"payment": payment, "amount": str(3 * TOKEN)})
    assert first.status_code == 201, first.content
    assert (first.json()["status"], first.json()["method"]) == ("succeeded", "channel")
    state, entries, refunds = latest_state(alice.address), LedgerEntry.objects.count(), Refund.objects.count()

    for amount in (3 * TOKEN, 2 * TOKEN + 1):
        response = api.post("/api/v1/refunds", {"payment": payment, "amount": str(amount)})
        assert response.status_code == 409, response.content
        error = response.json()["error"]
        assert error["code"] == "refund_exceeds_payment" and error["param"] == "amount"
    assert latest_state(alice.address) == state
    assert (LedgerEntry.objects.count(), Refund.objects.count()) == (entries, refunds)

    rest = api.post("/api/v1/refunds", {"payment": payment})  # default: what is left
    assert rest.status_code == 201 and rest.json()["amount"] == str(2 * TOKEN)
    nothing_left = api.post("/api/v1/refunds", {"payment": payment, "amount": "1"})
    assert nothing_left.json()["error"]["code"] == "refund_exceeds_payment"
    assert accept_hub_updates(hub_chain, alice) == ["Payment", "Payment"]
    assert alice.latest.balance_token_user == 20 * TOKEN
    assert account_balance(f"custodial:{shop.address}", "token") == 10 * TOKEN


def test_a_payer_whose_channel_cannot_receive_is_refunded_with_a_link_from_the_balance(
        hub_chain: ChainEnv, shop: Shop) -> None:
    issue_refund_links_with(issue_refund_link)  # registered again (as the links app does at start): replaces it
    alice, payment = pay_shop(hub_chain, shop, tokens=5 * TOKEN)
    drain_hub_balance(hub_chain, alice)
    state = latest_state(alice.address)

    response = shop.client().post("/api/v1/refunds", {"payment": payment, "amount": str(4 * TOKEN)})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["method"]) == ("succeeded", "link")
    assert body["link"]["secret"] and body["link"]["url"]
    link = Link.objects.get(public_id=body["link"]["id"])
    assert (link.status, link.amount, link.asset, link.merchant_id) == (
        Link.Status.OPEN, 4 * TOKEN, "token", shop.merchant.pk)
    assert latest_state(alice.address) == state  # nothing was paid in the channel
    assert account_balance(f"custodial:{shop.address}", "token") == TOKEN
    assert account_balance(link.ledger_account, "token") == 4 * TOKEN
    execution = RefundExecution.objects.get(refund_public_id=body["id"])
    assert (execution.method, execution.link_public_id) == ("link", link.public_id)


def test_a_pending_refund_is_paid_by_the_sweep_exactly_once(hub_chain: ChainEnv, shop: Shop) -> None:
    alice, payment = pay_shop(hub_chain, shop, tokens=5 * TOKEN)
    refund = refund_create(merchant_id=shop.merchant.pk, payment_id=payment_pk(payment), amount=3 * TOKEN)
    second = refund_create(merchant_id=shop.merchant.pk, payment_id=payment_pk(payment), amount=TOKEN)
    assert refund.state == Refund.State.PENDING

    assert refunds_sweep() == 2  # both, counted
    assert refunds_sweep() == 0
    refund.refresh_from_db()
    assert refund.state == Refund.State.SUCCEEDED and refund.completed_at is not None
    for done in (refund, second):
        assert RefundExecution.objects.filter(refund_public_id=done.public_id).count() == 1
    assert accept_hub_updates(hub_chain, alice) == ["Payment", "Payment"]
    assert alice.latest.balance_token_user == 19 * TOKEN
    assert account_balance(f"custodial:{shop.address}", "token") == TOKEN
    assert list(Event.objects.filter(type__startswith="refund.").values_list("type", flat=True)
                .order_by("id")) == ["refund.created", "refund.created", "refund.succeeded", "refund.succeeded"]


def test_a_refund_paid_in_the_channel_records_its_update_and_moves_the_amount_to_the_float(
        hub_chain: ChainEnv, shop: Shop) -> None:
    """The hub pays the payer back in their channel: the refund's execution names that channel
    update, and exactly the refunded tokens leave the custodial balance for the custodial float
    (which backs what the hub pays in channels), under the refund's memo."""
    alice, payment = pay_shop(hub_chain, shop, tokens=5 * TOKEN)
    refund = refund_create(merchant_id=shop.merchant.pk, payment_id=payment_pk(payment), amount=2 * TOKEN)
    outcome = refund_execute(refund_id=refund.public_id, allow_link=True)
    assert (outcome.method, outcome.link) == ("channel", None)
    channel = channel_find(alice.address)
    assert channel is not None
    execution = RefundExecution.objects.get(refund_public_id=refund.public_id)
    assert (execution.method, execution.channel_update_id) == ("channel", channel.latest_update_id)
    assert latest_state(alice.address).balance_token_user == 2 * TOKEN + alice.latest.balance_token_user
    postings = LedgerEntry.objects.filter(memo=f"refund {refund.public_id}")
    assert sorted((e.account, e.asset, int(e.amount)) for e in postings) == sorted([
        (f"custodial:{shop.address}", "token", -2 * TOKEN), (CUSTODIAL_FLOAT, "token", 2 * TOKEN)])
    assert account_balance(f"custodial:{shop.address}", "token") == 3 * TOKEN


def test_an_unreachable_payers_refund_waits_for_the_sweep_and_fails_after_24_hours(
        hub_chain: ChainEnv, shop: Shop, movable_clock: MovableClock) -> None:
    alice, payment = pay_shop(hub_chain, shop, tokens=5 * TOKEN)
    drain_hub_balance(hub_chain, alice)
    refund = refund_create(merchant_id=shop.merchant.pk, payment_id=payment_pk(payment))
    state = latest_state(alice.address)

    assert refunds_sweep() == 0
    movable_clock.advance(int(timedelta(hours=23, minutes=59).total_seconds()))
    assert refunds_sweep() == 0
    refund.refresh_from_db()
    assert refund.state == Refund.State.PENDING  # the sweep never sends links
    assert Link.objects.count() == 0

    movable_clock.advance(120)
    assert refunds_sweep() == 0
    refund.refresh_from_db()
    assert (refund.state, refund.failure_reason) == (Refund.State.FAILED, "payer_unreachable")
    assert latest_state(alice.address) == state
    assert account_balance(f"custodial:{shop.address}", "token") == 5 * TOKEN  # nothing taken
    assert Event.objects.filter(type="refund.failed").count() == 1
    assert refunds_sweep() == 0 and Event.objects.filter(type="refund.failed").count() == 1
    # the failed refund no longer counts against the payment: the merchant can send a link now
    again = shop.client().post("/api/v1/refunds", {"payment": payment})
    assert again.status_code == 201 and again.json()["method"] == "link"


def in_parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; each thread has its own connection."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = calls[i]()
        except BaseException as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_concurrent_refunds_of_one_payment_never_add_up_to_more_than_it(
        hub_chain: ChainEnv, shop: Shop) -> None:
    credit_custodial(shop.address, "token", 20 * TOKEN)  # enough balance for every request
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    payments = [pay_shop(hub_chain, shop, tokens=2 * TOKEN, payer=alice)[1] for _ in range(3)]

    for payment in payments:
        ask = partial(shop.client().post, "/api/v1/refunds", {"payment": payment})
        responses = in_parallel([ask] * 3)
        assert sorted(r.status_code for r in responses) == [201, 409, 409], responses
        refused = [r.json()["error"]["code"] for r in responses if r.status_code == 409]
        assert refused == ["refund_exceeds_payment"] * 2
    refunded = [int(r.amount) for r in Refund.objects.exclude(state=Refund.State.FAILED)]
    assert refunded == [2 * TOKEN] * 3
    assert accept_hub_updates(hub_chain, alice) == ["Payment"] * 3
    assert alice.latest.balance_token_user == 20 * TOKEN
    assert account_balance(f"custodial:{shop.address}", "token") == 20 * TOKEN


def test_a_refund_of_another_merchants_payment_is_not_found(
        hub_chain: ChainEnv, shop: Shop, other_shop: Shop) -> None:
    _alice, payment = pay_shop(hub_chain, shop, tokens=TOKEN)
    credit_custodial(other_shop.address, "token", 5 * TOKEN)
    response = other_shop.client().post("/api/v1/refunds", {"payment": payment})
    assert response.status_code == 404 and response.json()["error"]["code"] == "resource_missing"
    assert Refund.objects.count() == 0
