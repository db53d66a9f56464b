"""Scale-out on one PostgreSQL and one Redis: two web process groups (gunicorn, each its own
master and port, as two web nodes behind a round-robin load balancer), two worker processes and
two schedulers, all real subprocesses against the test database, Valkey and the session's anvil.

Payers pay concurrently over HTTP through both web groups (stack/soak.py: each request to the next
group), half PT_CHANNEL into collateralised receivers and half PT_CUSTODIAL to shops that withdraw
on-chain as their balance grows, so that both workers send hub transactions through the outbox.
Afterwards: both web groups served payments; nothing was created or destroyed, to the base unit;
every channel is sound and the ledger equals the states; every hub transaction was mined, with
nonces that never repeat and leave no gap; and of the two schedulers exactly one ran (the other
found the Redis lock taken), so each periodic job is sent once per interval.

The full-size soak (32 payers, several web groups, a throughput figure per group count) is
bench/scaleout_bench.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from django.conf import settings
from spoke_client import UserKey

from hub.chain.models import ChainTransaction
from hub.channels.reconciliation import reconcile_channels
from hub.custodial.models import CustodialWithdrawal
from hub.purchases.models import Payment, Purchase
from hub.rates.models import RateSource
from hub.rates.services import rate_refresh
from ops.models import Heartbeat
from ops.tasks import WORKER_HEARTBEAT
from stack.embedded import Anvil
from stack.ports import free_port, wait_for_port
from stack.soak import run_soak
from tests.chain_env import TOKEN, ChainEnv
from tests.e2e.test_scheduled_jobs import clear_redis, database_url
from tests.purchases.helpers import collateralize, funded_user
from tests.purchases.test_concurrency import assert_channels_sound

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
SOAK_SECONDS = float(os.environ.get("SPOKE_SCALE_SOAK_SECONDS", "10"))
PAYERS = 8


class Cluster:
    """N web groups, M workers and two schedulers, each its own process group."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.web_ports: list[int] = []

    def spawn(self, name: str, command: list[str]) -> None:
        log = open(self.logs / f"{name}.log", "wb")
        self.procs[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def start(self, *, web_groups: int, workers: int) -> None:
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        for index in range(web_groups):
            port = free_port()
            self.web_ports.append(port)
            self.spawn(f"web-{index}", [gunicorn, "-b", f"127.0.0.1:{port}", "-w", "1",
                                        "--no-control-socket", "--access-logfile",
                                        str(self.logs / f"access-{index}.log"),
                                        "config.wsgi:application"])
        for index in range(workers):
            self.spawn(f"worker-{index}", [sys.executable, "manage.py", "rundramatiq",
                                           "--processes", "1", "--threads", "2",
                                           "--worker-shutdown-timeout", "5000"])
        for index in range(2):
            self.spawn(f"scheduler-{index}", [sys.executable, "manage.py", "crontab"])
        for port in self.web_ports:
            assert wait_for_port(port, timeout=300), f"web on {port} did not start; see {self.logs}"
            self.wait(lambda p=port: _answers(p), f"the web group on {port} to answer", 300)
        self.wait(lambda: Heartbeat.objects.filter(name=WORKER_HEARTBEAT).exists(),
                  "a scheduled job to reach a worker", 300)

    def wait(self, predicate: Any, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            for name, proc in self.procs.items():
                if not name.startswith("scheduler"):  # a standby scheduler exits by design
                    assert proc.poll() is None, f"{name} exited; see {self.logs}"
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}; logs in {self.logs}")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def value() -> tuple[int, int]:
    """(tokens in every channel, both sides; tokens the hub owes custodially). Payments move
    tokens within the channels (a custodial payment goes from the payer to the hub's side, and
    the hub then owes it); the shops' withdrawals pay what is owed on-chain."""
    from django.db.models import Sum

    from hub.channels.models import Channel
    from hub.ledger.models import LedgerEntry

    in_channels = sum(int(c.latest_update.balance_token_hub + c.latest_update.balance_token_user)
                      for c in Channel.objects.exclude(latest_update=None).select_related("latest_update"))
    owed = LedgerEntry.objects.filter(account__startswith="custodial:", asset="token").aggregate(
        t=Sum("amount"))["t"]
    return in_channels, int(owed or 0)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/hub/config", timeout=10).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def cluster(transactional_db: Any, chain_env: ChainEnv, tmp_path: Path) -> Iterator[Cluster]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    clear_redis(client)
    client.delete("dramatiq-scheduler")  # the schedulers' lock (dramatiq-crontab)
    env = dict(os.environ)
    env.update({
        "DRAMATIQ_STUB": "0", "DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL,
        "ETH_RPC_URL": chain_env.rpc_url, "CHAIN_ID": str(Anvil.CHAIN_ID), "CONFIRMATIONS": "0",
        "CHANNEL_MANAGER_ADDRESS": chain_env.deployment.channel_manager,
        "TOKEN_ADDRESS": chain_env.deployment.token, "HUB_PRIVATE_KEY_FILE": str(chain_env.key_file),
        "SPOKE_NO_DEVDATA": "1", "SPOKE_TX_SWEEP_GRACE_SECONDS": "0", "LOG_LEVEL": "INFO",
        "WORKER_HEARTBEAT_SECONDS": "1", "TX_SWEEP_SECONDS": "2", "ALLOWED_HOSTS": "127.0.0.1",
    })
    for name in ("HUB_KEYSTORE_FILE", "HUB_KEYSTORE_PASSWORD_FILE"):
        env.pop(name, None)
    running = Cluster(env, tmp_path)
    try:
        yield running
    finally:
        running.stop()
        clear_redis(client)
        client.delete("dramatiq-scheduler")
        client.close()


def test_two_web_groups_two_workers_and_two_schedulers_share_one_database_and_redis(
        cluster: Cluster, hub_chain: ChainEnv) -> None:
    env = hub_chain
    RateSource.objects.create(kind="operator", operator_rate="200")  # shops withdraw as ETH
    rate_refresh()
    payers = [funded_user(env, tokens=20 * TOKEN) for _ in range(PAYERS)]
    for sim in payers[:3]:  # these also receive PT_CHANNEL payments
        collateralize(env, sim)
    shops = [UserKey(bytes(env.new_user(eth=0).key)) for _ in range(2)]
    channels_before, owed_before = value()
    # the hub account sent transactions of its own before (token mints of the set-up): count from here
    first_tx = (ChainTransaction.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    cluster.start(web_groups=2, workers=2)
    urls = [f"http://127.0.0.1:{port}/api/hub" for port in cluster.web_ports]

    result = run_soak(urls=urls, payers=[UserKey(bytes(p.account.key)) for p in payers],
                      receivers=[p.address for p in payers[:3]], shops=shops,
                      seconds=SOAK_SECONDS, amount_max=TOKEN // 5)

    assert not result.errors, result.errors[:5]
    assert len(result.paid) >= 20, result
    # the load was spread: both web groups took payments (round robin, as a load balancer)
    assert all(result.per_group[g] > 0 for g in range(2)), result.per_group
    for index in range(2):
        served = (cluster.logs / f"access-{index}.log").read_text()
        assert "POST /api/hub/payments/purchase" in served, f"web group {index} served no purchase"
    # payments held for receivers that were paying themselves are delivered by the workers
    cluster.wait(lambda: not Payment.objects.filter(status="pending").exists(),
                 "the held payments to be delivered", 120)
    # every hub transaction reaches the chain; the workers never gave two the same nonce
    cluster.wait(lambda: not ChainTransaction.objects.exclude(
        state__in=["confirmed", "failed"]).exists(), "every hub transaction to be mined", 180)
    cluster.wait(lambda: not CustodialWithdrawal.objects.filter(state="pending").exists(),
                 "the withdrawals to be confirmed", 120)
    txs = list(ChainTransaction.objects.filter(id__gte=first_tx).values_list("sender", "nonce", "state"))
    assert result.withdrawals > 0 and txs, (result.withdrawals, txs)
    assert {state for _s, _n, state in txs} == {"confirmed"}, txs
    nonces = sorted(n for _s, n, _state in txs)
    assert len(set(nonces)) == len(nonces), f"a nonce was used twice: {nonces}"
    assert nonces == list(range(nonces[0], nonces[0] + len(nonces))), f"nonce gap: {nonces}"
    onchain = env.w3.eth.get_transaction_count(env.w3.to_checksum_address(txs[0][0]))
    assert onchain == nonces[-1] + 1  # and nothing else was sent from the hub's account
    # money: every payment recorded once; nothing created or destroyed, to the base unit
    assert len(set(result.paid)) == len(result.paid) == Purchase.objects.count()
    assert Payment.objects.count() == len(result.paid)
    assert_channels_sound()
    assert reconcile_channels(check_chain=False).ok
    channels_after, owed_after = value()
    assert channels_after == channels_before
    credited = sum(int(p.amount_token) for p in Payment.objects.filter(type="PT_CUSTODIAL"))
    withdrawn = sum(int(w.requested_token) for w in CustodialWithdrawal.objects.filter(state="confirmed"))
    assert owed_after == owed_before + credited - withdrawn
    # scheduled jobs: one scheduler holds the lock and runs them, the other stands by and leaves
    cluster.wait(lambda: sum("Another scheduler is already running" in cluster.log(f"scheduler-{i}")
                             for i in range(2)) == 1, "the standby scheduler to give up", 60)
    assert sum("Starting scheduler" in cluster.log(f"scheduler-{i}") for i in range(2)) == 1
