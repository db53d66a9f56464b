"""The hub is down when a user starts an exit with an old state and comes back with less than
half the challenge period left: the real worker (`manage.py rundramatiq` on Redis and the test
database, the scheduler's ticks sent by the test) ingests the exit and challenges in time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker

from hub.chain.models import ChainEvent
from hub.disputes.models import ChannelDispute
from stack.embedded import Anvil
from tests.chain_env import (
    ETH,
    TOKEN,
    ChainEnv,
    clear_chain_caches,
    deploy_chain_env,
    point_settings_at,
)
from tests.hub.disputes.conftest import (
    Balances,
    gas_paid,
    latest_state,
    pay_hub,
    stored_state,
    user_chain,
)
from tests.purchases.helpers import funded_user

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
NAMESPACE = "spoke-dramatiq"  # settings.DRAMATIQ_BROKER's namespace with DRAMATIQ_STUB=0
PERIOD = 300


@pytest.fixture
def long_chain(settings: Any, tmp_path: Path) -> Iterator[ChainEnv]:
    """A private anvil whose challenge period leaves a worker time to start (wall clock runs)."""
    node = Anvil().start()
    try:
        env = deploy_chain_env(node, tmp_path, challenge_period=PERIOD)
        point_settings_at(settings, env)
        yield env
    finally:
        clear_chain_caches()
        node.stop()


@pytest.fixture
def broker() -> Iterator[RedisBroker]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(f"{NAMESPACE}*"):  # this test run's Redis db only
        client.delete(key)
    redis_broker = RedisBroker(url=settings.REDIS_URL, namespace=NAMESPACE)
    try:
        yield redis_broker
    finally:
        redis_broker.close()
        for key in client.scan_iter(f"{NAMESPACE}*"):
            client.delete(key)
        client.close()


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def start_hub(long_chain: ChainEnv, tmp_path: Path) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        env.update({
            "DRAMATIQ_STUB": "0", "DATABASE_URL": _database_url(), "REDIS_URL": settings.REDIS_URL,
            "ETH_RPC_URL": long_chain.rpc_url, "CHAIN_ID": str(Anvil.CHAIN_ID), "CONFIRMATIONS": "0",
            "CHANNEL_MANAGER_ADDRESS": long_chain.deployment.channel_manager,
            "TOKEN_ADDRESS": long_chain.deployment.token,
            "HUB_PRIVATE_KEY_FILE": str(long_chain.key_file), "SPOKE_NO_DEVDATA": "1",
            "SPOKE_TX_SWEEP_GRACE_SECONDS": "0", "LOG_LEVEL": "INFO",
        })
        for name in ("HUB_KEYSTORE_FILE", "HUB_KEYSTORE_PASSWORD_FILE"):
            env.pop(name, None)
        log = open(tmp_path / f"hub-worker-{len(started)}.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "2",
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


def _tick(broker: RedisBroker) -> None:
    """What the scheduler sends: an ingestion pass, the watchtower, the outbox sweep."""
    for actor in ("ingest_events", "watch_disputes", "sweep_transactions"):
        broker.enqueue(Message(queue_name="chain", actor_name=actor, args=(), kwargs={}, options={}))


def test_a_hub_back_with_less_than_half_the_period_left_still_challenges_in_time(
    long_chain: ChainEnv, broker: RedisBroker, start_hub: Callable[[], subprocess.Popen[bytes]],
) -> None:
    env = long_chain
    sim = funded_user(env, wei=ETH, tokens=10 * TOKEN)
    pay_hub(env, sim, 8)
    latest = latest_state(sim)
    stale = stored_state(sim, latest.tx_count_global - 5)
    balances = Balances(env, sim.address)
    before = balances.read()

    # The hub is down (no worker, nothing ingested) when the user exits with the old state...
    exit_tx = user_chain(env, sim).start_exit_with_update(stale)
    env.mine(PERIOD // 2 + 40)
    closing = user_chain(env, sim).channel_details(sim.address).closing_time
    left = closing - user_chain(env, sim).block_time()
    assert 0 < left < PERIOD // 2
    assert not ChainEvent.objects.filter(name="DidStartExitChannel").exists()

    # From here on the chain's clock moves one second per block, not with the wall clock: a
    # worker slow to start on a busy machine does not eat the challenge window (in production
    # the window is days; here it is what is left of 300 s).
    env.w3.provider.make_request("anvil_setBlockTimestampInterval", [1])  # type: ignore[arg-type]

    # ...and comes back.
    worker = start_hub()
    dispute = None
    for _ in range(50):  # scheduler ticks; each one waits until the worker has done its work
        assert worker.poll() is None, "the worker died"
        _tick(broker)
        broker.join("chain", timeout=600_000)
        dispute = ChannelDispute.objects.filter(status="finished").first()
        # the dispute can finish (its event ingested) a sweep before the outbox records the
        # answer as confirmed: wait for both
        if dispute is not None and dispute.answer_transaction is not None and \
                dispute.answer_transaction.state == "confirmed":
            break
    assert dispute is not None, "the hub did not finish the dispute"
    assert (dispute.initiator, dispute.answer_kind) == ("user", "challenge")
    answer = dispute.answer_transaction
    assert answer is not None and answer.state == "confirmed" and answer.block_number is not None
    assert env.w3.eth.get_block(answer.block_number)["timestamp"] < closing == dispute.closing_time

    after = balances.read()
    assert after["user_wei"] == before["user_wei"] - gas_paid(env, exit_tx) + latest.balance_wei_user
    assert after["user_token"] == before["user_token"] + latest.balance_token_user
    assert after["reserve_wei"] == before["reserve_wei"] + latest.balance_wei_hub
    assert after["reserve_token"] == before["reserve_token"] + latest.balance_token_hub
