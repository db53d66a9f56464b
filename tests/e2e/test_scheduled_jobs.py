"""The scheduled money jobs as production runs them: the real scheduler (`manage.py crontab`,
dramatiq-crontab) sends each periodic actor to Redis, and two real workers (`manage.py
rundramatiq`) run them against the test database and the session's anvil. The platform clock
(ops/clock.py) is moved by the test through SPOKE_TEST_CLOCK_FILE, which the workers read.

Nothing the test process does reaches the workers by itself (its own broker is the in-memory
stub), so every effect seen here was caused by a scheduled run. On top of the scheduler, the test
sends each sweep several more times at once (a scheduler firing twice, a second scheduler): every
refund, refund give-up, optimistic refund, settlement, payout, link expiry and collateral top-up
still happens exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from web3 import Web3

from hub.chain.models import ChainTransaction
from hub.channels.models import ChannelUpdate, ProposedUpdate
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from hub.purchases.models import Payment, RefundExecution
from linkpay.models import Link
from linkpay.services import link_create_custodial
from ops.models import Alarm, Heartbeat
from ops.tasks import WORKER_HEARTBEAT
from payments.apikeys.services import api_key_create
from payments.merchants.models import Merchant
from payments.merchants.services import merchant_create
from payments.refunds.models import Refund
from payments.refunds.services import refund_create
from payments.settlements.models import Settlement
from stack.embedded import Anvil
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.conftest import MovableClock
from tests.hub.api.user_sim import UserSim
from tests.payments.conftest import Shop, credit_custodial, random_address
from tests.payments.test_refunds import latest_state, pay_shop, payment_pk
from tests.purchases.helpers import funded_user, pay_request

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
NAMESPACE = "spoke-dramatiq"  # settings.DRAMATIQ_BROKER's namespace when DRAMATIQ_STUB=0
INTERVAL = 2  # seconds between scheduled runs of each money job in this suite
SCHEDULE = {
    "TX_SWEEP_SECONDS": INTERVAL, "OPTIMISTIC_SWEEP_SECONDS": INTERVAL,
    "REFUND_SWEEP_SECONDS": INTERVAL, "LINK_EXPIRY_SWEEP_SECONDS": INTERVAL,
    "COLLATERAL_SWEEP_SECONDS": INTERVAL, "SPOKE_AUTO_SETTLEMENT_INTERVAL_SECONDS": INTERVAL,
    "RECONCILIATION_SECONDS": 5,  # the settings' minimum: reconciliation runs beside every job
}
DAY = int(timedelta(days=1).total_seconds())


def database_url() -> str:
    db = connection.settings_dict  # the test database once pytest-django has created it
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def clear_redis(client: redis.Redis) -> None:
    for key in client.scan_iter(f"{NAMESPACE}*"):  # this suite's Redis database only
        client.delete(key)


class Platform:
    """Two workers and one scheduler, and a broker to fire sweeps by hand."""

    def __init__(self, clock_file: Path, logs: Path, broker: RedisBroker) -> None:
        self.clock_file, self.logs, self.broker = clock_file, logs, broker
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env: dict[str, str] = {}

    def start(self) -> None:
        """Start both workers and the scheduler; return once a scheduled message was run."""
        env = self.env
        commands = {
            "worker-1": ["rundramatiq", "--processes", "1", "--threads", "2"],
            "worker-2": ["rundramatiq", "--processes", "1", "--threads", "2"],
            "scheduler": ["crontab"],
        }
        for name, args in commands.items():
            log = open(self.logs / f"{name}.log", "wb")
            self.procs.append(subprocess.Popen(
                [sys.executable, "manage.py", *args, *(["--worker-shutdown-timeout", "5000"]
                                                       if name.startswith("worker") else [])],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        # the scheduler → Redis → worker path works once the worker's heartbeat row appears
        wait_for(self, lambda: Heartbeat.objects.filter(name=WORKER_HEARTBEAT).exists(),
                 "the scheduler and the workers to start", timeout=300)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)

    def alive(self) -> None:
        for proc in self.procs:
            assert proc.poll() is None, f"a platform process exited; see {self.logs}"

    def fire(self, actor: str, *, times: int = 4, queue: str = "default") -> None:
        """Send a periodic actor `times` more times at once, as a misfiring scheduler would, and
        wait until the workers have run every one of them (a message stays in the queue's
        `.msgs` hash until a worker acknowledges it)."""
        sent = [self.broker.enqueue(Message(queue_name=queue, actor_name=actor, args=(), kwargs={},
                                            options={})).options["redis_message_id"]
                for _ in range(times)]
        pending = f"{NAMESPACE}:{queue}.msgs"

        def done() -> bool:
            return not any(self.broker.client.hexists(pending, message_id) for message_id in sent)

        wait_for(self, done, f"the workers to run {times} x {actor}", timeout=120)


@pytest.fixture
def platform(transactional_db: Any, chain_env: ChainEnv, tmp_path: Path) -> Iterator[Platform]:
    """Started after the test database is ready and stopped before it is flushed (a flush while
    workers run can deadlock with them)."""
    client = redis.Redis.from_url(settings.REDIS_URL)
    clear_redis(client)
    broker = RedisBroker(url=settings.REDIS_URL, namespace=NAMESPACE)
    running = Platform(tmp_path / "clock", tmp_path, broker)
    url = database_url()
    env = dict(os.environ)
    env.update({
        "DRAMATIQ_STUB": "0", "DATABASE_URL": url, "REDIS_URL": settings.REDIS_URL,
        "ETH_RPC_URL": chain_env.rpc_url, "CHAIN_ID": str(Anvil.CHAIN_ID), "CONFIRMATIONS": "0",
        "CHANNEL_MANAGER_ADDRESS": chain_env.deployment.channel_manager,
        "TOKEN_ADDRESS": chain_env.deployment.token, "HUB_PRIVATE_KEY_FILE": str(chain_env.key_file),
        "SPOKE_NO_DEVDATA": "1", "SPOKE_TX_SWEEP_GRACE_SECONDS": "0",
        "SPOKE_TEST_CLOCK_FILE": str(running.clock_file), "LOG_LEVEL": "INFO",
        "WORKER_HEARTBEAT_SECONDS": "1",
        **{name: str(value) for name, value in SCHEDULE.items()},
    })
    for name in ("HUB_KEYSTORE_FILE", "HUB_KEYSTORE_PASSWORD_FILE"):
        env.pop(name, None)
    running.env = env
    try:
        yield running  # the test starts it once its channels are funded
    finally:
        running.stop()
        broker.close()
        clear_redis(client)
        client.close()


@pytest.fixture
def clock(platform: Platform, settings: Any) -> MovableClock:
    """The clock the workers read."""
    moved = MovableClock(platform.clock_file)
    moved.advance(0)
    settings.TEST_CLOCK_FILE = platform.clock_file
    return moved


@dataclass
class Cast:
    """Users with funded channels, made before the workers start (the deposit helpers drive the
    chain from the test process and would race the workers' own chain ingestion)."""

    env: ChainEnv
    carol: UserSim  # pays, then cannot receive
    other: UserSim  # pays carol
    alice: UserSim  # pays and is refunded
    payer: UserSim  # pays optimistically
    bob: UserSim  # has no collateral
    dave: UserSim  # paid by both fans
    fans: list[UserSim]


def test_every_scheduled_money_job_runs_on_schedule_and_exactly_once(
        platform: Platform, clock: MovableClock, hub_chain: ChainEnv) -> None:
    """One platform for every job (starting three Django processes is the slow part); each job's
    story starts with the clock back at real time."""
    cast = Cast(hub_chain, carol=funded_user(hub_chain, tokens=20 * TOKEN),
                other=funded_user(hub_chain, tokens=6 * TOKEN),
                alice=funded_user(hub_chain, tokens=20 * TOKEN),
                payer=funded_user(hub_chain, tokens=10 * TOKEN),
                bob=funded_user(hub_chain, wei=ETH // 10), dave=funded_user(hub_chain, wei=ETH // 10),
                fans=[funded_user(hub_chain, tokens=5 * TOKEN) for _ in range(2)])
    platform.start()
    for story in (refund_sweep_pays_once_and_gives_up_on_an_unreachable_payer_after_a_day,
                  optimistic_sweep_returns_an_expired_payment_once,
                  settlements_pay_out_once_on_chain_and_daily_ones_wait_a_day,
                  link_expiry_returns_an_overdue_link_once,
                  collateral_sweep_proposes_one_top_up_for_a_busy_recipient):
        clock.advance(-clock.offset)
        story(platform, clock, cast)
        platform.fire("reconcile", times=2)  # besides the scheduled runs, after each story
    # the ledger, the signed states and the contract agreed all along
    assert list(Alarm.objects.filter(kind="reconciliation").values_list("message", flat=True)) == []


def wait_for(platform: Platform, predicate: Callable[[], bool], what: str, timeout: float = 60,
             explain: Callable[[], str] = str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        platform.alive()
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; logs in {platform.logs} {explain()}")


def new_shop(name: str, *, payout_address: str = "") -> Shop:
    address = random_address()
    merchant = merchant_create(name=name, addresses=[address], payout_address=payout_address)
    return Shop(merchant, address, api_key_create(merchant_id=merchant.pk, kind="secret",
                                                  name="test").plaintext)


def hub_payments_to(address: str) -> int:
    """Hub-originated Payment updates in `address`'s channel."""
    from hub.channels.records import hub_address

    return ChannelUpdate.objects.filter(channel__user=address.lower(), reason="Payment",
                                        originator=hub_address()).count()


def refund_sweep_pays_once_and_gives_up_on_an_unreachable_payer_after_a_day(
        platform: Platform, clock: MovableClock, cast: Cast) -> None:
    shop = new_shop("refunding shop")
    carol, alice = cast.carol, cast.alice
    carol_payment = pay_shop(cast.env, shop, tokens=5 * TOKEN, payer=carol)[1]
    response = cast.other.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(cast.other, carol.address, token=5 * TOKEN, ptype="PT_CHANNEL")]})
    assert response.status_code == 200, response.content
    assert latest_state(carol.address).balance_token_hub == 0  # carol cannot receive from the hub
    alice_payments = [pay_shop(cast.env, shop, tokens=TOKEN + n, payer=alice)[1] for n in range(4)]
    carol_before = hub_payments_to(carol.address)
    # In one transaction, so that every sweep from now on sees all of them; created in this
    # order, alice's refunds being paid proves a sweep passed carol's and kept it.
    with transaction.atomic():
        stuck = refund_create(merchant_id=shop.merchant.pk, payment_id=payment_pk(carol_payment))
        paid = [refund_create(merchant_id=shop.merchant.pk, payment_id=payment_pk(p))
                for p in alice_payments]
    platform.fire("sweep_refunds", times=8)  # overlapping sweeps: all list the same refunds

    def succeeded() -> bool:
        return Refund.objects.filter(pk__in=[r.pk for r in paid],
                                     state=Refund.State.SUCCEEDED).count() == len(paid)

    wait_for(platform, succeeded, "the scheduled sweep to pay alice's refunds")
    stuck.refresh_from_db()
    assert stuck.state == Refund.State.PENDING

    clock.advance(DAY + 60)
    platform.fire("sweep_refunds")

    def gave_up() -> bool:
        stuck.refresh_from_db()
        return stuck.state == Refund.State.FAILED

    wait_for(platform, gave_up, "the sweep to give up on carol's refund after 24 hours")
    platform.fire("sweep_refunds")
    assert stuck.failure_reason == "payer_unreachable"
    executions = RefundExecution.objects.filter(refund_public_id__in=[r.public_id for r in paid])
    assert sorted(executions.values_list("refund_public_id", flat=True)) == sorted(
        r.public_id for r in paid)
    assert RefundExecution.objects.filter(refund_public_id=stuck.public_id).count() == 0
    assert hub_payments_to(alice.address) == 4 and hub_payments_to(carol.address) == carol_before
    assert latest_state(alice.address).balance_token_user == 20 * TOKEN
    assert account_balance(f"custodial:{shop.address}", "token") == 5 * TOKEN
    assert Link.objects.count() == 0  # the sweep never sends links


def optimistic_sweep_returns_an_expired_payment_once(
        platform: Platform, clock: MovableClock, cast: Cast) -> None:
    alice, bob = cast.payer, cast.bob  # bob has no collateral: the payment is held
    response = alice.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(alice, bob.address, token=4 * TOKEN, ptype="PT_OPTIMISTIC")]})
    assert response.status_code == 200, response.content
    payment = Payment.objects.get(type="PT_OPTIMISTIC", sender=alice.address)
    platform.fire("sweep_optimistic_payments")
    clock.advance(settings.OPTIMISTIC_PAYMENT_TTL_SECONDS // 2)
    platform.fire("sweep_optimistic_payments")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PENDING  # half its time: still held

    clock.advance(settings.OPTIMISTIC_PAYMENT_TTL_SECONDS)
    platform.fire("sweep_optimistic_payments")

    def refunded() -> bool:
        payment.refresh_from_db()
        return payment.status == Payment.Status.REFUNDED

    wait_for(platform, refunded, "the expired optimistic payment to be refunded")
    platform.fire("sweep_optimistic_payments")
    assert hub_payments_to(alice.address) == 1
    assert latest_state(alice.address).balance_token_user == 10 * TOKEN
    held = LedgerEntry.objects.filter(account=f"optimistic:{payment.pk}")
    assert sorted(int(e.amount) for e in held) == [-4 * TOKEN, 4 * TOKEN]  # held, released once


def settlements_pay_out_once_on_chain_and_daily_ones_wait_a_day(
        platform: Platform, clock: MovableClock, cast: Cast) -> None:
    at_threshold = new_shop("threshold shop", payout_address=random_address())
    daily = new_shop("daily shop", payout_address=random_address())
    Merchant.objects.filter(pk=at_threshold.merchant.pk).update(settlement_threshold_wei=10**12)
    Merchant.objects.filter(pk=daily.merchant.pk).update(
        settlement_schedule=Merchant.SettlementSchedule.DAILY)
    credit_custodial(at_threshold.address, "wei", 10**12 + 7)
    credit_custodial(daily.address, "wei", 3 * 10**12)
    platform.fire("run_automatic_settlements")

    def paid_out() -> bool:
        return Settlement.objects.filter(state=Settlement.State.PAID).count() == 2

    wait_for(platform, paid_out, "both settlements to be paid by the scheduled outbox sweep",
             explain=lambda: f"{list(Settlement.objects.values_list('amount', 'state', 'failure_reason'))} "
             f"{list(ChainTransaction.objects.values_list('purpose', 'state', 'last_error'))}")
    credit_custodial(daily.address, "wei", 5 * 10**12)  # arrives after today's settlement
    platform.fire("run_automatic_settlements")
    platform.fire("sweep_transactions", queue="chain")
    w3 = cast.env.w3

    def eth(shop: Shop) -> int:
        return int(w3.eth.get_balance(Web3.to_checksum_address(shop.merchant.payout_address)))

    assert (eth(at_threshold), eth(daily)) == (10**12 + 7, 3 * 10**12)
    assert account_balance(f"custodial:{daily.address}", "wei") == 5 * 10**12

    clock.advance(DAY + 60)
    platform.fire("run_automatic_settlements")

    def settled_again() -> bool:
        return eth(daily) == 8 * 10**12

    wait_for(platform, settled_again, "the daily settlement a day later")
    platform.fire("run_automatic_settlements")
    platform.fire("sweep_transactions", queue="chain")
    assert Settlement.objects.count() == 3
    assert ChainTransaction.objects.filter(purpose="settlement").count() == 3
    assert account_balance(f"custodial:{daily.address}", "wei") == 0
    assert account_balance(f"custodial:{at_threshold.address}", "wei") == 0
    assert (eth(at_threshold), eth(daily)) == (10**12 + 7, 8 * 10**12)


def link_expiry_returns_an_overdue_link_once(
        platform: Platform, clock: MovableClock, cast: Cast) -> None:
    shop = new_shop("linking shop")
    credit_custodial(shop.address, "token", 5 * TOKEN)
    issued = link_create_custodial(merchant_id=shop.merchant.pk, amount=2 * TOKEN, asset="token",
                                   expires_in=3600)
    link = issued.link
    platform.fire("expire_links")
    clock.advance(1800)
    platform.fire("expire_links")
    link.refresh_from_db()
    assert link.status == Link.Status.OPEN
    assert account_balance(f"custodial:{shop.address}", "token") == 3 * TOKEN

    clock.advance(3600)
    platform.fire("expire_links")

    def expired() -> bool:
        link.refresh_from_db()
        return link.status == Link.Status.EXPIRED

    wait_for(platform, expired, "the overdue link to expire")
    platform.fire("expire_links")
    assert account_balance(f"custodial:{shop.address}", "token") == 5 * TOKEN
    assert account_balance(link.ledger_account, "token") == 0
    assert LedgerEntry.objects.filter(account=link.ledger_account).count() == 2  # held, returned


def collateral_sweep_proposes_one_top_up_for_a_busy_recipient(
        platform: Platform, clock: MovableClock, cast: Cast) -> None:
    dave = cast.dave
    for payer in cast.fans:
        response = payer.post("payments/purchase", {"meta": {}, "payments": [
            pay_request(payer, dave.address, token=TOKEN, ptype="PT_OPTIMISTIC")]})
        assert response.status_code == 200, response.content
    platform.fire("collateralize_frequent_recipients")

    def proposed() -> bool:
        return ProposedUpdate.objects.filter(channel__user=dave.address).exists()

    wait_for(platform, proposed, "a top-up proposal for the recipient two payers paid")
    platform.fire("collateralize_frequent_recipients")
    platform.fire("collateralize_frequent_recipients")
    proposal = ProposedUpdate.objects.get(channel__user=dave.address)
    assert (proposal.reason, proposal.status) == ("ProposePendingDeposit", ProposedUpdate.Status.OPEN)
    # sized for two recent payers (the policy's floor per payer)
    assert int(proposal.state["pendingDepositTokenHub"]) == 2 * settings.COLLATERAL_FLOOR_TOKENS * TOKEN
