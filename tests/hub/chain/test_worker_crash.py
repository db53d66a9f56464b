"""Kill the real worker at every step of sending (threats L1, L2), restart it, and check that
each logical transaction was mined exactly once.

The worker is `manage.py rundramatiq` on the real Redis broker and the test database; the test
process talks to Redis with a RedisBroker built like settings.DRAMATIQ_BROKER (its own broker
is the StubBroker)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from eth_account import Account
from web3 import Web3

from hub.chain import outbox
from hub.chain.crash import (
    CRASH_POINTS,
    ENV_VAR,
    TX_AFTER_BROADCAST,
    TX_AFTER_SIGN,
    TX_BEFORE_RECEIPT,
)
from hub.chain.models import ChainTransaction
from stack.embedded import Anvil
from tests.hub.chain.conftest import HUB_KEY, mined_transactions_from

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
# The namespace the worker's RedisBroker uses (settings.DRAMATIQ_BROKER with DRAMATIQ_STUB=0).
NAMESPACE = "spoke-dramatiq"


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def redis_broker() -> Iterator[RedisBroker]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(f"{NAMESPACE}*"):  # this test's Redis db only
        client.delete(key)
    broker = RedisBroker(url=settings.REDIS_URL, namespace=NAMESPACE)
    try:
        yield broker
    finally:
        broker.close()
        for key in client.scan_iter(f"{NAMESPACE}*"):
            client.delete(key)
        client.close()


@pytest.fixture
def start_worker(node: Anvil, hub_key_file: Path, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(crash_at: str | None) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env.update({
            "DRAMATIQ_STUB": "0", "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL,
            "ETH_RPC_URL": node.rpc_url, "CHAIN_ID": str(Anvil.CHAIN_ID), "CONFIRMATIONS": "0",
            "HUB_PRIVATE_KEY_FILE": str(hub_key_file), "SPOKE_NO_DEVDATA": "1",
            "SPOKE_TX_SWEEP_GRACE_SECONDS": "0", "LOG_LEVEL": "INFO",
        })
        for name in ("HUB_KEYSTORE_FILE", "HUB_KEYSTORE_PASSWORD_FILE", "CHANNEL_MANAGER_ADDRESS",
                     ENV_VAR):
            env.pop(name, None)
        if crash_at:
            env[ENV_VAR] = crash_at
        log = open(tmp_path / f"worker-{len(started)}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1",
             "--queues", "chain", "--worker-shutdown-timeout", "5000"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)


def _send(broker: RedisBroker, actor: str, *args: Any) -> None:
    broker.enqueue(Message(queue_name="chain", actor_name=actor, args=args, kwargs={}, options={}))


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_every_crash_point_is_covered() -> None:
    assert set(CRASH_POINTS) == {TX_AFTER_SIGN, TX_AFTER_BROADCAST, TX_BEFORE_RECEIPT}


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_worker_killed_at_each_step_sends_exactly_one_transaction(
    crash_at: str, w3: Web3, redis_broker: RedisBroker, start_worker: Callable[..., Any],
) -> None:
    hub = Account.from_key(HUB_KEY).address
    recipient = Account.create().address
    with transaction.atomic():
        tx = outbox.transaction_enqueue(purpose="crash-test", to=recipient, data="0x", value=4242,
                                        idempotency_key=f"crash-{crash_at}")
    _send(redis_broker, "submit_transaction", tx.pk)

    first = start_worker(crash_at)
    assert first.wait(timeout=90) == 137, "the worker should have died at the crash point"
    tx.refresh_from_db()
    attempts = list(tx.attempts.all())
    assert len(attempts) == 1, "the signed attempt was persisted before the crash"
    if crash_at == TX_AFTER_SIGN:
        assert tx.state == ChainTransaction.State.NEW and attempts[0].broadcast_at is None
        assert w3.eth.get_transaction_count(hub) == 0  # never left the process
    elif crash_at == TX_AFTER_BROADCAST:
        assert tx.state == ChainTransaction.State.NEW and attempts[0].broadcast_at is None
        assert w3.eth.get_transaction_count(hub) == 1  # on chain, unrecorded
    else:
        assert tx.state == ChainTransaction.State.SUBMITTED
        assert w3.eth.get_transaction_count(hub) == 1

    # A fresh worker; the periodic sweep (sent here as the scheduler would) finds the row.
    start_worker(None)
    _send(redis_broker, "sweep_transactions")

    def confirmed() -> bool:
        tx.refresh_from_db()
        if tx.state == ChainTransaction.State.SUBMITTED:
            _send(redis_broker, "sweep_transactions")  # the scheduler's next tick
            time.sleep(0.5)
        return tx.state == ChainTransaction.State.CONFIRMED

    _wait_for(confirmed, 90, "the transaction to be confirmed by the second worker")
    mined = mined_transactions_from(w3, hub)
    assert len(mined) == 1 and mined[0]["nonce"] == tx.nonce == 0
    assert "0x" + bytes(mined[0]["hash"]).hex() == tx.tx_hash == attempts[0].tx_hash
    assert w3.eth.get_balance(recipient) == 4242
    assert tx.attempts.count() == 1
