"""Settlements under concurrency and failure, on a real anvil: two settlements of the whole
balance at once pay it out once, two automatic runs at once settle once, a payout address that
refuses ETH gets nothing and the balance comes back exactly once, a daily schedule settles once
per day of the platform's clock, and two runs that both reach a due daily schedule settle it
once (the second decides under the merchant's row lock)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.db import connection, transaction
from web3 import Web3

from hub.chain.deploy import deploy_contract
from hub.ledger.services import account_balance
from payments.merchants.models import Merchant
from payments.settlements.models import Settlement
from payments.settlements.services import settlement_on_payout_complete, settlements_run_automatic
from tests.chain_env import ChainEnv
from tests.conftest import MovableClock
from tests.hub.api.test_channel_flows import run_hub_transactions
from tests.payments.conftest import Shop, credit_custodial, random_address
from tests.payments.test_refunds import in_parallel

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def payout_shop(make_shop: Callable[..., Shop], hub_chain: ChainEnv) -> Shop:
    return make_shop("payout shop", payout_address=random_address())


def eth_of(env: ChainEnv, address: str) -> int:
    return int(env.w3.eth.get_balance(Web3.to_checksum_address(address)))


def started(results: dict[str, Any], name: str, call: Callable[[], Any]) -> threading.Thread:
    """`call` in a thread of its own (its own database connection); what it returns or raises
    goes into results[name]."""
    def target() -> None:
        try:
            results[name] = call()
        except BaseException as exc:
            results[name] = exc
        finally:
            connection.close()
    thread = threading.Thread(target=target)
    thread.start()
    return thread


def hold_locks(take: Callable[[], None], results: dict[str, Any]) -> tuple[threading.Thread, threading.Event]:
    """Run `take` in a transaction of its own thread and keep that transaction open (the locks
    it took held) until the returned event is set."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with transaction.atomic():
            take()
            held.set()
            release.wait(timeout=60)
    thread = started(results, "holder", hold)
    assert held.wait(timeout=30), results
    return thread, release


def wait_for_lock_waiters(n: int, what: str, *, unless_done: threading.Thread | None = None) -> None:
    """Wait until `n` transactions of this database queue on a lock (or `unless_done` ended)."""
    deadline = time.monotonic() + 30
    while unless_done is None or unless_done.is_alive():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                           " AND wait_event_type = 'Lock'")
            if int(cursor.fetchone()[0]) >= n:
                return
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_two_settlements_of_the_whole_balance_at_once_pay_it_out_once(
        payout_shop: Shop, hub_chain: ChainEnv) -> None:
    shop = payout_shop
    for round_ in range(3):
        credit_custodial(shop.address, "wei", 1000 + round_)
        responses = in_parallel([
            partial(shop.client().post, "/api/v1/settlements", {"asset": "wei"}, idempotency_key=key)
            for key in (f"a{round_}", f"b{round_}")])
        assert sorted(r.status_code for r in responses) == [201, 409], responses
        refused = next(r for r in responses if r.status_code == 409).json()["error"]
        assert refused["code"] == "balance_insufficient"
        assert account_balance(f"custodial:{shop.address}", "wei") == 0
    run_hub_transactions()
    assert sorted(int(s.amount) for s in Settlement.objects.all()) == [1000, 1001, 1002]
    assert eth_of(hub_chain, shop.merchant.payout_address) == 3003


def test_two_automatic_runs_at_once_settle_once(payout_shop: Shop, hub_chain: ChainEnv) -> None:
    Merchant.objects.filter(pk=payout_shop.merchant.pk).update(settlement_threshold_wei=500)
    for _round in range(3):
        credit_custodial(payout_shop.address, "wei", 600)
        results = in_parallel([settlements_run_automatic, settlements_run_automatic])
        assert sorted(len(r) for r in results) == [0, 1], results
    assert Settlement.objects.count() == 3
    assert account_balance(f"custodial:{payout_shop.address}", "wei") == 0


def test_a_payout_address_that_refuses_eth_gets_the_balance_back_once(
        make_shop: Callable[..., Shop], hub_chain: ChainEnv) -> None:
    refuser, _receipt = deploy_contract(hub_chain.w3, hub_chain.funder, "RevertingReceiver")
    shop = make_shop("refusing shop", payout_address=refuser.address)
    credit_custodial(shop.address, "wei", 10**15)
    response = shop.client().post("/api/v1/settlements", {"asset": "wei"})
    assert response.status_code == 201, response.content
    run_hub_transactions()
    settlement = Settlement.objects.get(public_id=response.json()["id"])
    assert settlement.state == Settlement.State.FAILED and settlement.failure_reason
    assert account_balance(f"custodial:{shop.address}", "wei") == 10**15
    assert account_balance(settlement.ledger_account, "wei") == 0
    assert eth_of(hub_chain, refuser.address) == 0
    tx = settlement.chain_transaction
    assert tx is not None
    with transaction.atomic():
        settlement_on_payout_complete(tx)  # delivered twice
    assert account_balance(f"custodial:{shop.address}", "wei") == 10**15
    events = [e["type"] for e in shop.client().get("/api/v1/events").json()["data"]]
    assert events.count("settlement.failed") == 1


def test_a_daily_schedule_settles_once_per_day_of_the_platform_clock(
        payout_shop: Shop, movable_clock: MovableClock) -> None:
    Merchant.objects.filter(pk=payout_shop.merchant.pk).update(
        settlement_schedule=Merchant.SettlementSchedule.DAILY)
    credit_custodial(payout_shop.address, "wei", 100)
    assert [s.amount for s in settlements_run_automatic()] == [100]
    credit_custodial(payout_shop.address, "wei", 50)
    assert settlements_run_automatic() == []
    movable_clock.advance(int(timedelta(hours=23, minutes=59).total_seconds()))
    assert settlements_run_automatic() == []
    movable_clock.advance(120)
    assert [s.amount for s in settlements_run_automatic()] == [50]
    assert settlements_run_automatic() == []
    assert account_balance(f"custodial:{payout_shop.address}", "wei") == 0


def test_two_runs_that_both_find_a_daily_settlement_due_settle_it_once(
        payout_shop: Shop, movable_clock: MovableClock) -> None:
    """Two runs reach the merchant while a third transaction holds its row; a credit lands
    between the first run's settlement and the second's. The second run decides under the
    lock, sees today's settlement and leaves the credit for tomorrow."""
    merchant_id = payout_shop.merchant.pk
    Merchant.objects.filter(pk=merchant_id).update(
        settlement_schedule=Merchant.SettlementSchedule.DAILY)
    credit_custodial(payout_shop.address, "wei", 100)
    results: dict[str, Any] = {}

    def take_the_merchant_row() -> None:
        Merchant.objects.select_for_update().get(pk=merchant_id)

    def credit_under_the_lock() -> None:
        with transaction.atomic():
            take_the_merchant_row()
            credit_custodial(payout_shop.address, "wei", 50)

    holder, release = hold_locks(take_the_merchant_row, results)
    threads = [holder]
    # queued in this order behind the holder: run A, the credit, run B
    for n, (name, call) in enumerate((("a", settlements_run_automatic), ("credit", credit_under_the_lock),
                                      ("b", settlements_run_automatic)), start=1):
        threads.append(started(results, name, call))
        wait_for_lock_waiters(n, f"{n} transactions never queued on the merchant row")
    release.set()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(isinstance(r, BaseException) for r in results.values()), results
    assert sorted(len(results[name]) for name in ("a", "b")) == [0, 1], results
    assert [int(s.amount) for s in Settlement.objects.all()] == [100]
    assert account_balance(f"custodial:{payout_shop.address}", "wei") == 50


def test_a_settlement_paid_while_it_is_being_marked_submitted_stays_paid(
        payout_shop: Shop, hub_chain: ChainEnv) -> None:
    """The payout's outcome (the outbox callback, holding the settlement's row) and the
    scheduled "mark submitted" run meet: the mark waits on the row and must not put the paid
    settlement back to `submitted` (its join-filtered update did: PostgreSQL re-checked only the
    outer `id IN (subquery)`, not the subquery's `state = 'pending'`)."""
    from hub.chain.models import ChainTransaction
    from payments.settlements.services import settlement_execute, settlements_mark_submitted

    credit_custodial(payout_shop.address, "wei", 500)
    settlement = settlement_execute(merchant_id=payout_shop.merchant.pk, asset="wei")
    ChainTransaction.objects.filter(pk=settlement.chain_transaction_id).update(
        state=ChainTransaction.State.SUBMITTED)  # broadcast, the receipt not recorded yet
    results: dict[str, Any] = {}

    def outcome() -> None:  # what the outbox does when the receipt arrives
        tx = ChainTransaction.objects.select_for_update().get(pk=settlement.chain_transaction_id)
        tx.state = ChainTransaction.State.CONFIRMED
        tx.save(update_fields=["state"])
        settlement_on_payout_complete(tx)

    payer, release = hold_locks(outcome, results)
    marker = started(results, "marked", settlements_mark_submitted)
    # the mark queues on the settlement's row
    wait_for_lock_waiters(1, "the mark never waited on the settlement's row", unless_done=marker)
    release.set()
    payer.join(timeout=60)
    marker.join(timeout=60)
    assert results["marked"] == 0, results
    settlement.refresh_from_db()
    assert settlement.state == Settlement.State.PAID


def test_a_settlement_waits_for_a_concurrent_debit_of_the_custodial_account(payout_shop: Shop) -> None:
    """Whatever else debits a custodial account (a refund, a withdrawal) takes its lock first; a
    settlement takes the same lock before it reads the balance, so it waits for that debit and
    then finds nothing left to settle (it must not pay out what was already spent)."""
    from hub.custodial.services import lock_custodial_accounts
    from hub.ledger.services import post
    from payments.errors import PaymentsError
    from payments.settlements.services import settlement_execute

    credit_custodial(payout_shop.address, "wei", 300)
    results: dict[str, Any] = {}

    def debit() -> None:
        lock_custodial_accounts([payout_shop.address])
        post([(f"custodial:{payout_shop.address}", "wei", -300), ("test:funding", "wei", 300)],
             memo="a concurrent debit")

    debitor, release = hold_locks(debit, results)
    settler = started(results, "settled",
                      partial(settlement_execute, merchant_id=payout_shop.merchant.pk, asset="wei"))
    # the settlement queues on the account's lock
    wait_for_lock_waiters(1, "the settlement never waited on the custodial lock", unless_done=settler)
    release.set()
    debitor.join(timeout=60)
    settler.join(timeout=60)
    refused = results["settled"]
    assert isinstance(refused, PaymentsError) and refused.code == "balance_insufficient", results
    assert Settlement.objects.count() == 0
    assert account_balance(f"custodial:{payout_shop.address}", "wei") == 0
