"""One ingester at a time, against a real anvil and PostgreSQL: concurrent passes handle each
event once and each holder's events in chain order, a pass finding another ingester running does
nothing, and a following run (`events_follow`) handles a block mined while it follows, hands over
to the next run and leaves a stale message with one pass."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from hub.chain import deploy, ingest
from hub.chain.models import ChainEvent

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

EventState = ChainEvent.State
HOLDERS = 3
MINTS_PER_HOLDER = 12

_calls: list[int] = []
_calls_lock = threading.Lock()


@pytest.fixture(autouse=True)
def _handlers() -> Iterator[None]:
    _calls.clear()
    for name in ("Transfer", "DidHubContractWithdraw"):
        ingest.unregister_event_handler(name)
    yield
    for name in ("Transfer", "DidHubContractWithdraw"):
        ingest.unregister_event_handler(name)


def slow_record(event: ChainEvent) -> None:
    """A handler slow enough that two unguarded dispatchers would overlap."""
    with _calls_lock:
        _calls.append(event.pk)
    time.sleep(0.005)


def in_threads(count: int, work: Callable[[], Any]) -> list[Any]:
    """`work()` in `count` threads at once (each with its own database connection)."""
    start = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def holding_the_lock(release: threading.Event) -> tuple[threading.Thread, threading.Event]:
    """Another connection holds the ingester lock until `release` is set."""
    held = threading.Event()

    def hold() -> None:
        try:
            with ingest.ingester_lock() as got:
                assert got
                held.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    assert held.wait(10)
    return thread, held


def mint_rounds(w3: Web3, hub: LocalAccount, token: Contract) -> list[str]:
    """MINTS_PER_HOLDER rounds of one mint to each of HOLDERS holders, one block each mint."""
    holders = [Account.create().address for _ in range(HOLDERS)]
    for amount in range(1, MINTS_PER_HOLDER + 1):
        for holder in holders:
            deploy.mint_tokens(w3, hub, token.address, holder, amount)
    return [h.lower() for h in holders]


def test_concurrent_passes_handle_each_event_once_and_each_holders_events_in_chain_order(
    w3: Web3, hub_account: LocalAccount, token: Contract,
) -> None:
    holders = mint_rounds(w3, hub_account, token)
    ingest.events_ingest(address=token.address, abi=token.abi)
    ingest.register_event_handler("Transfer", slow_record)

    def drain() -> int:
        handled = 0
        while (result := ingest.events_dispatch(limit=25)).total or ChainEvent.objects.filter(
                state=EventState.NEW).exists():
            handled += result.total
        return handled

    handled = in_threads(4, drain)

    events = list(ChainEvent.objects.order_by("block_number", "log_index"))
    assert len(events) == HOLDERS * MINTS_PER_HOLDER and sum(handled) == len(events)
    assert {e.state for e in events} == {EventState.PROCESSED} and {e.attempts for e in events} == {1}
    assert sorted(_calls) == sorted(e.pk for e in events)  # each handled once
    for holder in holders:  # and each holder's in the order the chain emitted them
        chain_order = [e.pk for e in events if e.args["to"] == holder]
        assert [pk for pk in _calls if pk in chain_order] == chain_order
    # one ingester at a time: the handlers ran one after another, in chain order overall
    assert _calls == [e.pk for e in events]


def test_a_pass_while_another_ingester_runs_does_nothing(
    w3: Web3, hub_account: LocalAccount, token: Contract, settings: Any,
) -> None:
    deploy.mint_tokens(w3, hub_account, token.address, hub_account.address, 5)
    ingest.events_ingest(address=token.address, abi=token.abi)
    ingest.register_event_handler("Transfer", slow_record)
    release = threading.Event()
    thread, _held = holding_the_lock(release)
    try:
        assert ingest.events_dispatch().total == 0
        assert ingest.events_poll() is None
        assert ingest.events_follow(sent=time.time() - 10) is False  # stale: no waiting
        assert _calls == [] and ChainEvent.objects.get().state == EventState.NEW
    finally:
        release.set()
        thread.join(10)
    assert ingest.events_dispatch().processed == 1 and len(_calls) == 1


@pytest.fixture
def manager(chain_settings: Any, channel_manager: Contract) -> Contract:
    chain_settings.CHANNEL_MANAGER_ADDRESS = channel_manager.address
    chain_settings.CHECKOUT_ADDRESS = None
    ingest.register_event_handler("DidHubContractWithdraw", slow_record)
    return channel_manager


def hub_withdraws(w3: Web3, hub: LocalAccount, manager: Contract) -> int:
    """A DidHubContractWithdraw(0, 0) event, mined in a block of its own: its block number."""
    tx = manager.functions.hubContractWithdraw(0, 0).build_transaction({
        "from": hub.address, "nonce": w3.eth.get_transaction_count(hub.address), "chainId": w3.eth.chain_id})
    tx_hash = w3.eth.send_raw_transaction(hub.sign_transaction(tx).raw_transaction)
    return int(w3.eth.wait_for_transaction_receipt(tx_hash)["blockNumber"])


def test_a_following_run_handles_a_block_mined_while_it_follows(
    w3: Web3, hub_account: LocalAccount, manager: Contract,
) -> None:
    follower = threading.Thread(target=lambda: (ingest.events_follow(sent=time.time(), limit=2.0),
                                                connection.close()))
    follower.start()
    time.sleep(0.5)  # it has caught up and follows
    block = hub_withdraws(w3, hub_account, manager)
    follower.join(30)
    (event,) = ChainEvent.objects.filter(name="DidHubContractWithdraw")
    assert event.block_number == block and event.state == EventState.PROCESSED
    assert _calls == [event.pk]


def lock_held(key: int) -> bool:
    """Whether some connection holds advisory lock `key` (a bigint below 2**32)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                       "AND classid = 0 AND objid = %s AND objsubid = 1)", [key])
        return bool(cursor.fetchone()[0])


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_the_next_run_takes_over_and_a_third_leaves_at_once(
    w3: Web3, hub_account: LocalAccount, manager: Contract,
) -> None:
    outcomes: dict[str, bool] = {}

    def follow(name: str, limit: float) -> threading.Thread:
        def run() -> None:
            try:
                outcomes[name] = ingest.events_follow(sent=time.time(), limit=limit)
            finally:
                connection.close()
        thread = threading.Thread(target=run)
        thread.start()
        return thread

    first = follow("first", 30.0)
    wait_until(lambda: lock_held(ingest.INGESTER_LOCK), "the first run follows")
    second = follow("second", 30.0)
    # the second waits to take over; the first sees it and ends long before its 30 s
    first.join(10)
    assert outcomes == {"first": True}
    wait_until(lambda: lock_held(ingest.INGESTER_LOCK), "the second run follows")
    second_block = hub_withdraws(w3, hub_account, manager)
    wait_until(lambda: ChainEvent.objects.filter(block_number=second_block, state=EventState.PROCESSED)
               .exists(), "the second run handles a new block")

    # with a run following and another waiting to take over, a further one leaves at once
    third = follow("third", 30.0)
    wait_until(lambda: lock_held(ingest.SUCCESSOR_LOCK), "the third run waits to take over")
    fourth = follow("fourth", 30.0)
    fourth.join(10)
    assert outcomes.get("fourth") is False
    second.join(10)
    assert outcomes["second"] is True and "third" not in outcomes  # the third follows now
    third_block = hub_withdraws(w3, hub_account, manager)
    wait_until(lambda: ChainEvent.objects.filter(block_number=third_block, state=EventState.PROCESSED)
               .exists(), "the third run handles a new block")
    follow("last", 0.5).join(10)  # takes over from the third and leaves soon after
    third.join(10)
    assert outcomes["third"] is True and outcomes["last"] is True
    assert _calls == list(ChainEvent.objects.filter(name="DidHubContractWithdraw")
                          .order_by("block_number").values_list("pk", flat=True))
    assert len(_calls) == 2


def test_a_stale_message_makes_one_pass(w3: Web3, hub_account: LocalAccount, manager: Contract) -> None:
    block = hub_withdraws(w3, hub_account, manager)
    started = time.monotonic()
    assert ingest.events_follow(sent=time.time() - 60, limit=30.0) is True
    assert time.monotonic() - started < 10  # it did not follow for `limit`
    (event,) = ChainEvent.objects.filter(name="DidHubContractWithdraw")
    assert event.block_number == block and event.state == EventState.PROCESSED
