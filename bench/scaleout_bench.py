"""Benchmark: the scale-out soak at full size, and throughput with 1, 2 and 3 web process groups.

One PostgreSQL (embedded, fsync on, synchronous_commit on), one Valkey, anvil with the contracts;
two Dramatiq worker processes and two schedulers (one takes the Redis lock and runs the periodic
jobs, the other stands by). For each web group count in --groups, that many gunicorn process
groups (each its own master and port with --web-workers workers: one web node each) are started
and --payers payers pay for --duration seconds through them (stack/soak.py: each request to the
next group, as a round-robin load balancer; half PT_CHANNEL into collateralised receivers, half
PT_CUSTODIAL to shops that withdraw on-chain as their balance grows). Payments/s landed is printed
per group count with the requests each group served.

After the rounds: every hub transaction mined with a nonce never used twice and no gap, one
scheduler ran, the ledger balances and equals every channel's state, every purchase recorded once,
and value conserved to the base unit (channels plus custodial balances, less what shops
withdrew). Exit status non-zero when a check fails.

    .venv/bin/python bench/scaleout_bench.py [--payers 32] [--duration 20] [--groups 1,2,3]
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from stack.embedded import Anvil, EmbeddedPostgres, EmbeddedValkey  # noqa: E402
from stack.ports import free_port, wait_for_port  # noqa: E402
from stack.procs import Service, become_subreaper  # noqa: E402
from stack.soak import run_soak  # noqa: E402

PY = sys.executable
BIN = Path(PY).parent
TOKEN = 10**18


def log(message: str) -> None:
    print(f"[scaleout] {message}", flush=True)


def platform_env(work: Path) -> tuple[dict[str, str], list[Any]]:
    pg = EmbeddedPostgres(work / "pg", fsync=True).start()
    valkey = EmbeddedValkey(work / "valkey", persist=False).start()
    anvil = Anvil().start()
    key_file = work / "hub.key"
    key_file.write_text("0x" + secrets.token_hex(32))
    env = {
        **os.environ,
        "DATABASE_URL": pg.url("postgres"), "REDIS_URL": valkey.url(0), "ETH_RPC_URL": anvil.rpc_url,
        "CHAIN_ID": "31337", "CONFIRMATIONS": "0", "HUB_PRIVATE_KEY_FILE": str(key_file),
        "SPOKE_DEVDATA": str(work / "devdata"), "SPOKE_NO_DEVDATA": "1",
        "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
    }
    for args in (["migrate", "--noinput"], ["deploy_contracts"],
                 ["shell", "-c", "from hub.rates.models import RateSource; "
                  "RateSource.objects.create(kind='operator', operator_rate='200'); "
                  "from hub.rates.services import rate_refresh; rate_refresh()"]):
        out = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                             text=True, check=False)
        if out.returncode:
            raise SystemExit(out.stdout + out.stderr)
    return env, [pg, valkey, anvil]


def start_web_group(env: dict[str, str], logs: Path, index: int, workers: int) -> tuple[Service, int]:
    port = free_port()
    service = Service(f"web-{index}", [str(BIN / "gunicorn"), "-b", f"127.0.0.1:{port}", "-w",
                                       str(workers), "--no-control-socket", "--access-logfile",
                                       str(logs / f"access-{index}-{port}.log"),
                                       "config.wsgi:application"], env, logs, ROOT).start()
    if not wait_for_port(port, timeout=120):
        raise SystemExit(f"web group {index} did not start; see {logs}")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/hub/config", timeout=30).status_code == 200:
                return service, port
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"web group {index} does not answer; see {logs}")


def fund(url: str, env: dict[str, str], payers: int, receivers: int) -> tuple[list[Any], list[Any]]:
    """Payers with deposits (the first `receivers` also collateralised), through the protocol."""
    from eth_account import Account
    from spoke_client import Channel, ChannelManagerClient, HubClient, MemoryStateStore, UserKey
    from web3 import Web3

    from hub.chain.deploy import mint_tokens, send_eth

    w3 = Web3(Web3.HTTPProvider(env["ETH_RPC_URL"]))
    hub_account = Account.from_key(Path(env["HUB_PRIVATE_KEY_FILE"]).read_text().strip())
    funder = Account.from_key(Anvil.DEV_KEY)
    config = HubClient(url, UserKey.generate()).config()
    lock = threading.Lock()

    def make(index: int) -> Any:
        key = UserKey.generate()
        with lock:
            send_eth(w3, funder, key.address, 10**18)
            mint_tokens(w3, hub_account, config["tokenAddress"], key.address, 60 * TOKEN)
        chain = ChannelManagerClient(Web3(Web3.HTTPProvider(env["ETH_RPC_URL"])),
                                     config["contractAddress"], account=key.account,
                                     token_address=config["tokenAddress"])
        wallet = Channel(HubClient(url, key), store=MemoryStateStore(), chain=chain, config=config)
        wallet.deposit(amount_token=60 * TOKEN)
        for _attempt in range(3 if index < receivers else 0):
            # a top-up whose transaction failed is invalidated: ask again
            wallet.request_collateral()
            try:
                wallet.wait_for(lambda s: s.balance_token_hub > 0 and not s.has_pending_ops,
                                timeout=180)
                break
            except TimeoutError as exc:
                log(f"collateral for payer {index} not there yet ({exc}); asking again")
        return key

    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(make, range(payers)))
    shops = [UserKey.generate() for _ in range(4)]
    return keys, shops


def value() -> tuple[int, int]:
    """(tokens in every channel, both sides; tokens the hub owes custodially)."""
    from django.db.models import Sum

    from hub.channels.models import Channel
    from hub.ledger.models import LedgerEntry

    in_channels = sum(int(c.latest_update.balance_token_hub + c.latest_update.balance_token_user)
                      for c in Channel.objects.exclude(latest_update=None).select_related("latest_update"))
    owed = LedgerEntry.objects.filter(account__startswith="custodial:", asset="token").aggregate(
        t=Sum("amount"))["t"]
    return in_channels, int(owed or 0)


def checks(value_before: tuple[int, int], first_tx: int, paid: int) -> dict[str, tuple[bool, str]]:
    from django.db.models import Sum

    from hub.chain.models import ChainTransaction
    from hub.channels.models import ChannelUpdate
    from hub.channels.reconciliation import reconcile_channels
    from hub.custodial.models import CustodialWithdrawal
    from hub.ledger.models import LedgerEntry
    from hub.purchases.models import Payment, Purchase

    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and (
            Payment.objects.filter(status="pending").exists()  # held deliveries, then delivered
            or ChainTransaction.objects.exclude(state__in=["confirmed", "failed"]).exists()
            or CustodialWithdrawal.objects.filter(state="pending").exists()):
        time.sleep(0.5)
    out: dict[str, tuple[bool, str]] = {}
    txs = list(ChainTransaction.objects.filter(id__gte=first_tx).values_list("nonce", "state"))
    nonces = sorted(n for n, _s in txs)
    states = {s for _n, s in txs}
    out["outbox: every hub transaction mined, no nonce used twice, no gap"] = (
        bool(txs) and states == {"confirmed"} and len(set(nonces)) == len(nonces)
        and nonces == list(range(nonces[0], nonces[0] + len(nonces))),
        f"{len(txs)} transactions, states {sorted(states)}, nonces {nonces[0] if nonces else '-'}"
        f"..{nonces[-1] if nonces else '-'}")
    out["every payment recorded once"] = (Purchase.objects.count() == paid,
                                          f"{Purchase.objects.count()} purchases, {paid} landed")
    withdrawn = int(CustodialWithdrawal.objects.filter(state="confirmed").aggregate(
        t=Sum("requested_token"))["t"] or 0)
    credited = int(Payment.objects.filter(type="PT_CUSTODIAL").aggregate(t=Sum("amount_token"))["t"] or 0)
    (channels_before, owed_before), (channels_after, owed_after) = value_before, value()
    out["value conserved to the base unit (channels; owed = credited - withdrawn)"] = (
        channels_after == channels_before and owed_after == owed_before + credited - withdrawn,
        f"channels {channels_before} -> {channels_after}; owed {owed_before} -> {owed_after}, "
        f"credited {credited}, withdrawn {withdrawn}")
    sums = {r["asset"]: int(r["t"]) for r in LedgerEntry.objects.values("asset").annotate(t=Sum("amount"))}
    out["ledger balanced"] = (all(v == 0 for v in sums.values()), f"{sums}")
    report = reconcile_channels(check_chain=False)
    out["each channel's ledger equals its state"] = (report.ok, f"{report.channels} channels")
    # every txCount once among the valid states; an invalidated state (a failed top-up) keeps its
    # txCount in the history, so the count runs 1..n over all of them
    bad = []
    channel_ids = ChannelUpdate.objects.order_by().values_list("channel_id", flat=True).distinct()
    for channel_id in channel_ids:
        rows = list(ChannelUpdate.objects.filter(channel_id=channel_id).order_by("tx_count_global")
                    .values_list("tx_count_global", "invalid"))
        valid = [t for t, invalid in rows if invalid is None]
        if len(set(valid)) != len(valid) or sorted({t for t, _i in rows}) != list(range(1, len(set(
                t for t, _i in rows)) + 1)):
            bad.append(channel_id)
    invalidated = ChannelUpdate.objects.exclude(invalid=None).count()
    out["txCounts without gap or duplicate"] = (
        not bad, f"{len(channel_ids)} channels, {len(bad)} with a gap or duplicate; "
        f"{invalidated} invalidated states (failed top-ups)")
    return out


@dataclass
class Measured:
    rates: dict[int, float] = field(default_factory=dict)  # web groups -> payments/s landed
    lines: list[str] = field(default_factory=list)
    checks: dict[str, tuple[bool, str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return all(ok for ok, _ in self.checks.values()) and not self.errors


def measure(options: argparse.Namespace) -> Measured:
    """Start the platform, run the rounds, check, stop everything (prints as it goes)."""
    become_subreaper()
    measured = Measured()
    work = Path(tempfile.mkdtemp(prefix="spoke-scaleout-"))
    logs = work / "logs"
    logs.mkdir()
    services: list[Any] = []
    try:
        env, servers = platform_env(work)
        services += servers
        for k in ("DATABASE_URL", "REDIS_URL", "ETH_RPC_URL", "HUB_PRIVATE_KEY_FILE", "SPOKE_DEVDATA",
                  "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "CONFIRMATIONS"):
            os.environ[k] = env[k]
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from hub.chain.models import ChainTransaction

        for index in range(options.workers):
            services.append(Service(f"worker-{index}", [PY, "manage.py", "rundramatiq", "--processes",
                                                        "1", "--threads", "4"], env, logs, ROOT).start())
        for index in range(2):
            services.append(Service(f"scheduler-{index}", [PY, "manage.py", "crontab"], env, logs,
                                    ROOT).start())
        first, first_port = start_web_group(env, logs, 0, options.web_workers)
        services.append(first)
        url = f"http://127.0.0.1:{first_port}/api/hub"
        log(f"funding {options.payers} payers ({options.receivers} collateralised) through the protocol")
        payers, shops = fund(url, env, options.payers, options.receivers)
        receivers = [k.address.lower() for k in payers[:options.receivers]]
        first_tx = (ChainTransaction.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        value_before = value()
        groups = [first]
        ports = [first_port]
        figures: list[str] = []
        landed = 0
        errors: list[str] = []
        for count in [int(g) for g in options.groups.split(",")]:
            while len(groups) < count:
                service, port = start_web_group(env, logs, len(groups), options.web_workers)
                groups.append(service)
                services.append(service)
                ports.append(port)
            urls = [f"http://127.0.0.1:{p}/api/hub" for p in ports[:count]]
            result = run_soak(urls=urls, payers=payers, receivers=receivers, shops=shops,
                              seconds=options.duration, amount_max=TOKEN // 20)
            landed += len(result.paid)
            errors += result.errors
            rate = len(result.paid) / result.seconds
            measured.rates[count] = rate
            spread = ", ".join(f"group {g}: {result.per_group[g]}" for g in range(count))
            refused = dict(result.refused)
            line = (f"{count} web group(s) x {options.web_workers} gunicorn workers: "
                    f"{len(result.paid)} payments in {result.seconds:.1f} s = {rate:.1f}/s "
                    f"({spread}); refused attempts {refused}; {result.withdrawals} withdrawals")
            figures.append(line)
            log(line)
        results = checks(value_before, first_tx, landed)
        schedulers = [(logs / f"scheduler-{i}.log").read_text(errors="replace") for i in range(2)]
        running = sum("Starting scheduler" in text for text in schedulers)
        results["one scheduler ran the periodic jobs"] = (running == 1, f"{running} started")
        for check, (ok, detail) in results.items():
            log(f"consistency: {'PASS' if ok else 'FAIL'} {check} ({detail})")
        measured.checks, measured.lines, measured.errors = results, figures, errors
        for line in figures:
            log(f"figure: {line}")
        log(f"machine: {os.cpu_count()} CPUs shared with other work (figures are noisy); "
            f"{options.payers} payers, {options.workers} worker processes, 2 schedulers, "
            f"PostgreSQL and Valkey embedded on the same machine")
        if errors:
            log(f"errors: {errors[:5]}")
        return measured
    finally:
        for service in reversed(services):
            service.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


def options_for(*, payers: int = 32, receivers: int = 8, duration: float = 20.0,
                groups: str = "1,2,3", web_workers: int = 2, workers: int = 2) -> argparse.Namespace:
    return argparse.Namespace(payers=payers, receivers=receivers, duration=duration, groups=groups,
                              web_workers=web_workers, workers=workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payers", type=int, default=32)
    parser.add_argument("--receivers", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--groups", default="1,2,3")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers per group")
    parser.add_argument("--workers", type=int, default=2, help="Dramatiq worker processes")
    m = measure(parser.parse_args())
    raise SystemExit(0 if m.consistent else 1)


if __name__ == "__main__":
    main()
