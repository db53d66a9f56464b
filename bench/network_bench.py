"""Benchmark: payments that land the first time in a busy network.

Six wallets of the Python SDK (`spoke_client.Channel`, unchanged) pay each other PT_CHANNEL
concurrently for --duration seconds, every wallet both paying and being paid, through a real
stack (embedded PostgreSQL with durable commits, Valkey, anvil with the contracts, daphne serving
HTTP and the wallets' WebSockets, the Dramatiq worker and the scheduler). Each wallet follows its
channel over `/ws/channel/` (`Channel.watch`) as a wallet app does, and pays in a closed loop with
a short think time. A payment the hub refuses is counted by the hub's error code, then the wallet
syncs and tries again (as a real client does) until it lands; the figure is the fraction of
payments refused at the first attempt, target <= 5 %.

After the run: no held delivery left, every wallet's latest double-signed state equals the hub's
latest state for its channel, the users' token balances moved by exactly the payments recorded
(none created or destroyed), the ledger balances and every channel's ledger equals its state.
Exit status non-zero when the target is missed or a check fails.

    .venv/bin/python bench/network_bench.py [--wallets 6] [--duration 20]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("BENCH_SERVER", "daphne")  # the wallets follow their channels over WebSockets
sys.path.insert(0, str(Path(__file__).resolve().parent))

from payments_bench import TOKEN, log, start_stack

from stack.procs import become_subreaper

TARGET_REFUSED = 0.05


def make_wallets(stack: Any, count: int, tokens: int) -> list[Any]:
    from concurrent.futures import ThreadPoolExecutor

    from eth_account import Account
    from spoke_client import Channel, ChannelManagerClient, HubClient, MemoryStateStore, UserKey
    from web3 import Web3

    from hub.chain.deploy import mint_tokens, send_eth
    from stack.embedded import Anvil

    w3 = Web3(Web3.HTTPProvider(stack.env["ETH_RPC_URL"]))
    hub_account = Account.from_key(Path(stack.env["HUB_PRIVATE_KEY_FILE"]).read_text().strip())
    funder = Account.from_key(Anvil.DEV_KEY)
    lock = threading.Lock()

    def make(index: int) -> Any:
        # a load balancer's spread: wallets alternate between the web processes
        url = f"http://127.0.0.1:{stack.web_ports[index % len(stack.web_ports)]}/api/hub"
        key = UserKey.generate()
        config = HubClient(url, key).config()
        with lock:  # one funder account: its nonces must not race
            send_eth(w3, funder, key.address, 10**18)
            mint_tokens(w3, hub_account, config["tokenAddress"], key.address, tokens)
        chain = ChannelManagerClient(Web3(Web3.HTTPProvider(stack.env["ETH_RPC_URL"])),
                                     config["contractAddress"], account=key.account,
                                     token_address=config["tokenAddress"])
        wallet = Channel(HubClient(url, key), store=MemoryStateStore(), chain=chain, config=config)
        wallet.deposit(amount_token=tokens)
        wallet.request_collateral()
        wallet.wait_for(lambda s: s.balance_token_hub > 0 and not s.has_pending_ops, timeout=180)
        return wallet

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(make, range(count)))


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.first = Counter[str]()  # outcome of each payment's first attempt: "ok" or a code
        self.retries = Counter[str]()  # codes of later attempts
        self.landed = 0
        self.given_up = 0
        self.errors: list[str] = []
        self.raced: list[tuple[str, int]] = []  # (wallet, txCount) of first attempts refused for txCount
        self.landed_by = Counter[str]()
        self.first_payments_raced = 0  # of those, a wallet's very first payment (it was not paying yet)


def pay_until_landed(wallet: Any, recipient: str, amount: int, tally: Tally) -> None:
    from spoke_client import HubError, SpokeError

    for attempt in range(50):
        before = wallet.state.tx_count_global
        try:
            wallet.pay(recipient, amount_token=amount)
            code = "ok"
        except HubError as exc:
            code = exc.code
        except SpokeError as exc:  # the wallet refused something, or the purchase was not countersigned
            code = f"sdk:{type(exc).__name__}"
        with tally.lock:
            (tally.first if attempt == 0 else tally.retries)[code] += 1
            if attempt == 0 and code == "tx_count_global":
                tally.raced.append((wallet.user.lower(), before + 1))
                if not tally.landed_by[wallet.user]:
                    tally.first_payments_raced += 1
            if code == "ok":
                tally.landed_by[wallet.user] += 1
            if code == "ok":
                tally.landed += 1
        if code == "ok":
            return
        if code not in ("tx_count_global", "state_mismatch", "no_open_proposal",
                        "insufficient_collateral") and not code.startswith("sdk:"):
            with tally.lock:
                tally.errors.append(f"{code} (txCount {before})")
            return
        time.sleep(random.random() * min(0.2, 0.01 * (attempt + 1)))
        try:
            wallet.sync()
        except SpokeError:
            pass
    with tally.lock:
        tally.given_up += 1


def run(wallets: list[Any], duration: float, amount_range: tuple[int, int], think: float) -> Tally:
    tally = Tally()
    stop = threading.Event()
    watchers = [threading.Thread(target=w.watch, args=(stop,), kwargs={"poll_interval": 0.5},
                                 daemon=True) for w in wallets]
    for t in watchers:
        t.start()
    time.sleep(1.0)  # sockets open, first sync done
    deadline = time.monotonic() + duration

    def loop(index: int) -> None:
        rng = random.Random(index)
        wallet = wallets[index]
        others = [w.user for j, w in enumerate(wallets) if j != index]
        try:
            while time.monotonic() < deadline:
                pay_until_landed(wallet, rng.choice(others), rng.randint(*amount_range), tally)
                time.sleep(rng.random() * think)
        except Exception as exc:
            with tally.lock:
                tally.errors.append(f"load thread {index}: {exc!r}")

    payers = [threading.Thread(target=loop, args=(i,)) for i in range(len(wallets))]
    for t in payers:
        t.start()
    for t in payers:
        t.join()
    stop.set()
    for t in watchers:
        t.join(timeout=10)
    return tally


def race_causes(raced: list[tuple[str, int]]) -> Counter[str]:
    """What took the txCount each refused first attempt was signed for."""
    from hub.channels.models import ChannelUpdate
    from hub.purchases.models import Payment

    causes = Counter[str]()
    for user, tx_count in raced:
        row = ChannelUpdate.objects.filter(channel__user=user, tx_count_global=tx_count,
                                           invalid__isnull=True).first()
        if row is None:
            causes["unknown"] += 1
            continue
        if row.originator == user:
            causes[f"the wallet's own {row.reason} (SDK race)"] += 1
            continue
        payment = Payment.objects.filter(disbursement=row).first()
        if payment is None:
            causes[f"hub {row.reason}"] += 1
        elif payment.completed_at and (payment.completed_at - payment.created_at).total_seconds() > 0.05:
            causes["a held payment, delivered by the worker"] += 1
        else:
            causes["a payment delivered at once (recipient not seen paying)"] += 1
    return causes


def settle_and_check(wallets: list[Any], before_users: int) -> dict[str, tuple[bool, str]]:
    """Wait for held deliveries to be delivered, sync every wallet, then compare with the hub."""
    from django.db.models import Sum

    from hub.channels.models import Channel
    from hub.channels.reconciliation import reconcile_channels
    from hub.core import ChannelState
    from hub.ledger.models import LedgerEntry
    from hub.purchases.models import Payment

    deadline = time.monotonic() + 60
    while Payment.objects.filter(status=Payment.Status.PENDING).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    pending = Payment.objects.filter(status=Payment.Status.PENDING).count()
    from spoke_client import SpokeError

    for _ in range(3):
        for wallet in wallets:
            try:
                wallet.sync()
            except SpokeError as exc:  # e.g. a proposal that went stale meanwhile: sync again
                log(f"sync of {wallet.user}: {exc}")
    checks: dict[str, tuple[bool, str]] = {}
    checks["no payment left held"] = (pending == 0, f"{pending} pending")
    disagree = []
    for wallet in wallets:
        channel = Channel.objects.select_related("latest_update").get(user=wallet.user.lower())
        hub_state = channel.latest_update.to_state(channel.contract, channel.user)
        mine: ChannelState = wallet.state
        if (mine.tx_count_global, mine.balance_token_user, mine.balance_token_hub,
                mine.sig_hub, mine.sig_user) != (hub_state.tx_count_global,
                                                 hub_state.balance_token_user,
                                                 hub_state.balance_token_hub, hub_state.sig_hub,
                                                 hub_state.sig_user):
            disagree.append((wallet.user, mine.tx_count_global, hub_state.tx_count_global))
    checks["every wallet agrees with the hub (latest double-signed state)"] = (
        not disagree, f"{len(wallets)} wallets, disagreeing: {disagree[:3]}")
    after_users = sum(w.state.balance_token_user for w in wallets)
    moved = Counter[str]()
    for row in Payment.objects.filter(type="PT_CHANNEL").values("sender", "recipient").annotate(
            total=Sum("amount_token")):
        moved[row["sender"].lower()] -= int(row["total"])
        moved[row["recipient"].lower()] += int(row["total"])
    checks["money conserved: the wallets' tokens sum to what they deposited"] = (
        after_users == before_users, f"before {before_users}, after {after_users}")
    sums = {r["asset"]: int(r["t"]) for r in LedgerEntry.objects.values("asset").annotate(t=Sum("amount"))}
    checks["ledger balanced"] = (all(v == 0 for v in sums.values()), f"sums {sums}")
    report = reconcile_channels(check_chain=False)
    checks["each channel's ledger equals its state"] = (report.ok, f"mismatches {report.mismatches[:2]}")
    return checks


@dataclass
class Measured:
    payments: int
    refused: int
    codes: Counter[str]
    causes: Counter[str]
    checks: dict[str, tuple[bool, str]]
    errors: list[str]
    given_up: int

    @property
    def fraction(self) -> float:
        return self.refused / self.payments if self.payments else 1.0

    @property
    def consistent(self) -> bool:
        return all(ok for ok, _ in self.checks.values()) and not self.errors and not self.given_up


def measure(*, wallets: int = 6, duration: float = 20.0, web: int = 2, think: float = 0.05) -> Measured:
    """Start a stack, run the experiment, check, stop the stack (prints as it goes)."""
    become_subreaper()
    os.environ["BENCH_SERVER"] = "daphne"
    work = Path(tempfile.mkdtemp(prefix="spoke-netbench-"))
    stack = start_stack(work, web)
    try:
        os.environ.update({k: v for k, v in stack.env.items() if k in (
            "DATABASE_URL", "REDIS_URL", "ETH_RPC_URL", "HUB_PRIVATE_KEY_FILE", "SPOKE_DEVDATA",
            "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "CONFIRMATIONS")})
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        log(f"stack up; {wallets} wallets deposit and get collateral through the protocol")
        made = make_wallets(stack, wallets, 100 * TOKEN)
        for wallet in made:
            wallet.sync()
        before = sum(w.state.balance_token_user for w in made)
        log(f"paying PT_CHANNEL among {wallets} wallets for {duration:.0f} s")
        tally = run(made, duration, (TOKEN // 10, TOKEN), think)
        payments = sum(tally.first.values())
        refused = payments - tally.first["ok"]
        codes = Counter({c: n for c, n in tally.first.items() if c != "ok"})
        fraction = refused / payments if payments else 1.0
        log(f"payments {payments} ({payments / duration:.1f}/s), landed {tally.landed}, "
            f"given up {tally.given_up}; refused at the first attempt: {refused} "
            f"({fraction:.1%}){': ' + ', '.join(f'{c} {n}' for c, n in codes.most_common()) if codes else ''}")
        causes = race_causes(tally.raced)
        if causes:
            log(f"what took the txCount of those refused for it: {dict(causes)} "
                f"({tally.first_payments_raced} of them a wallet's very first payment)")
        if tally.retries:
            log(f"later attempts refused: {dict(tally.retries - Counter(ok=tally.retries['ok']))}")
        checks = settle_and_check(made, before)
        for check, (ok, detail) in checks.items():
            log(f"consistency: {'PASS' if ok else 'FAIL'} {check} ({detail})")
        log(f"target: refused at first attempt <= {TARGET_REFUSED:.0%}: {fraction:.1%} -> "
            f"{'met' if fraction <= TARGET_REFUSED else 'missed'}")
        if tally.errors:
            log(f"errors: {tally.errors[:5]}")
        log(f"machine: {os.cpu_count()} CPUs shared with other work (figures are noisy); "
            f"daphne x{web}, 1 worker process (4 threads), scheduler")
        return Measured(payments, refused, codes, causes, checks, tally.errors, tally.given_up)
    finally:
        stack.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wallets", type=int, default=6)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--web", type=int, default=2, help="daphne processes")
    parser.add_argument("--think", type=float, default=0.05, help="max pause between payments (s)")
    options = parser.parse_args()
    m = measure(wallets=options.wallets, duration=options.duration, web=options.web,
                think=options.think)
    raise SystemExit(0 if m.fraction <= TARGET_REFUSED and m.consistent else 1)


if __name__ == "__main__":
    main()
