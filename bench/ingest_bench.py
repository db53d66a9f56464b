"""Benchmark: chain ingestion keeping up with 1-second blocks of --per-block channel events.

A private PostgreSQL (fsync on), Valkey and anvil with the real contracts; the real Dramatiq worker
and scheduler run ingestion as in production (`ingest_events` sent every second, each run following
the chain until the next one takes over, CONFIRMATIONS=0).
Beforehand, --blocks x --per-block users each get a deposit authorised by the hub through the
real service (`channel_request_deposit`: a hub-signed ProposePendingDeposit), and each user signs
its `userAuthorizedUpdate` transaction. Then anvil mines with automine off: every second, the next
--per-block transactions go into one block, so each block carries --per-block real
`DidUpdateChannel` events of the ChannelManager. The hub must store each event and run its
handler (ConfirmPending: a new hub-signed state, its ledger postings and its push).

The figures: events handled per second from the first block to the last event handled, and each
block's lag (from its mining to the handling of its last event). Keeping up means the rate is at
least --per-block per second and the lag does not grow from block to block.

    .venv/bin/python bench/ingest_bench.py [--blocks 6] [--per-block 500]
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hotpath import PY, Outcome, bench_stack, load, log, pct, py_spy, py_spy_report, tree_cpu

DEPOSIT_WEI = 10**15


def prepare(count: int) -> list[tuple[str, str]]:
    """`count` users with a hub-authorised deposit: (address, signed raw transaction)."""
    from django.conf import settings
    from eth_account import Account
    from web3 import Web3

    from hub.chain.artifacts import load_abi
    from hub.chain.client import get_web3
    from hub.channels.proposals import channel_request_deposit
    from hub.core import Signer

    w3 = get_web3()
    contract = w3.eth.contract(address=Web3.to_checksum_address(settings.CHANNEL_MANAGER_ADDRESS),
                               abi=load_abi("ChannelManager"))
    from spoke_client.chain import user_authorized_update_args

    gas_price = int(w3.eth.gas_price) * 2
    users = [Account.create() for _ in range(count)]
    w3.provider.make_batch_request([  # type: ignore[attr-defined]
        ("anvil_setBalance", [u.address, hex(10**18)]) for u in users])

    def one(user: Any) -> tuple[str, str]:
        signer = Signer(bytes(user.key))
        address = user.address.lower()
        update = channel_request_deposit(user=address, deposit_wei=str(DEPOSIT_WEI), deposit_token="0",
                                         sig_user=signer.sign_deposit_request(0, DEPOSIT_WEI))
        state = update.state
        tx = contract.functions.userAuthorizedUpdate(*user_authorized_update_args(state)).build_transaction({
            "from": user.address, "nonce": 0, "gas": 400_000, "gasPrice": gas_price,
            "chainId": 31337, "value": DEPOSIT_WEI})
        return address, "0x" + bytes(user.sign_transaction(tx).raw_transaction).hex()

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, users))


def measure(argv: list[str] | None = None) -> Outcome:
    """Run the benchmark (`argv`: its command-line options) and return its figures and checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--per-block", type=int, default=500)
    parser.add_argument("--profile", action="store_true", help="sample the worker with py-spy")
    options = parser.parse_args(argv)
    n = options.blocks * options.per_block
    with bench_stack("ingest", chain=True) as stack:
        from django.db import connections
        from django.db.models import Count, Max

        from hub.chain.client import get_web3
        from hub.chain.models import ChainEvent

        started = time.perf_counter()
        signed = prepare(n)
        connections.close_all()
        log(f"{n} deposits authorised by the hub and signed by their users in "
            f"{time.perf_counter() - started:.1f} s")
        w3 = get_web3()
        rpc = w3.provider.make_request  # type: ignore[attr-defined]
        rpc("evm_setAutomine", [False])
        rpc("evm_setBlockGasLimit", [hex(400_000 * options.per_block * 2)])
        worker = stack.service("worker", [PY, "manage.py", "rundramatiq", "--processes", "1", "--threads", "4"])
        stack.service("scheduler", [PY, "manage.py", "crontab"])
        # the worker and scheduler have started when the ingester has read an empty block
        from hub.chain.models import ChainCursor

        rpc("evm_mine", [int(w3.eth.get_block("latest")["timestamp"]) + 1])
        head = int(w3.eth.block_number)
        from django.conf import settings

        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not ChainCursor.objects.filter(
                block_number__gte=head, contract=settings.CHANNEL_MANAGER_ADDRESS.lower()).exists():
            time.sleep(0.2)
        before = ChainEvent.objects.count()
        # block time, not wall time, is the chain's clock: the hub's deposits expire by it, and
        # preparing thousands of them takes minutes here. Each block is one second after the last.
        block_time = int(w3.eth.get_block("latest")["timestamp"])
        mined: dict[int, float] = {}
        postgres = stack.servers[0].proc.pid
        cpu0 = (tree_cpu(worker.pid), tree_cpu(postgres))
        profiler = py_spy(worker.pid, stack.work / "worker.prof") if options.profile else None
        t0 = time.perf_counter()
        for b in range(options.blocks):
            due = t0 + b
            if time.perf_counter() < due:
                time.sleep(due - time.perf_counter())
            chunk = signed[b * options.per_block:(b + 1) * options.per_block]
            answers = w3.provider.make_batch_request(  # type: ignore[attr-defined]
                [("eth_sendRawTransaction", [raw]) for _address, raw in chunk])
            failed = [a for a in answers if "error" in a]
            if failed:
                raise SystemExit(f"block {b}: {len(failed)} transactions refused: {failed[0]}")
            block_time += 1
            rpc("evm_mine", [block_time])
            mined[int(w3.eth.block_number)] = time.perf_counter()
        last_mined = time.perf_counter()
        outcome = Outcome()
        deadline = time.monotonic() + max(300.0, n / 20)
        while time.monotonic() < deadline:
            handled = ChainEvent.objects.filter(name="DidUpdateChannel", state=ChainEvent.State.PROCESSED,
                                                block_number__in=list(mined)).count()
            if handled >= n:
                break
            time.sleep(0.1)
        finished = time.perf_counter()
        worker_cpu, postgres_cpu = tree_cpu(worker.pid) - cpu0[0], tree_cpu(postgres) - cpu0[1]
        if profiler is not None:
            py_spy_report(profiler, stack.work / "worker.prof")
        rows = (ChainEvent.objects.filter(name="DidUpdateChannel", block_number__in=list(mined))
                .values("block_number").annotate(events=Count("id"), last=Max("processed_at")))
        per_block = {r["block_number"]: r for r in rows}
        # processed_at is the worker's wall clock; this process's perf_counter moments, moved onto it
        anchor = time.time() - time.perf_counter()
        lags = []
        for number, at in sorted(mined.items()):
            row = per_block.get(number)
            if row and row["last"] is not None and row["events"] == options.per_block:
                lags.append(row["last"].timestamp() - (anchor + at))
        span = finished - t0
        rate = handled / span
        log(f"{handled} of {n} events handled; {options.blocks} blocks mined in "
            f"{last_mined - t0:.1f} s; the last event handled {finished - last_mined:.1f} s after the "
            f"last block = {rate:.0f} events/s; lag per block (s): "
            f"{', '.join(f'{v:.1f}' for v in lags)} ({load()}; "
            f"{ChainEvent.objects.count() - before - handled} other events)")
        outcome.check("every block carried its events", all(
            per_block.get(b, {}).get("events") == options.per_block for b in mined),
            f"{[per_block.get(b, {}).get('events') for b in mined]}")
        outcome.check("every event was handled, none failed", handled == n and not ChainEvent.objects.filter(
            state=ChainEvent.State.FAILED).exists(), f"{handled} of {n}")
        from hub.channels.models import ChannelUpdate

        confirmed = ChannelUpdate.objects.filter(reason="ConfirmPending").count()
        outcome.check("each deposit was confirmed once (ConfirmPending)", confirmed == n, f"{confirmed}")
        outcome.figure(f"chain ingestion with {options.per_block} events per 1-second block", rate,
                       "events/s", float(options.per_block), higher_is_better=True)
        # what the hub spends on an event, steadier than the rate on a shared machine: the worker
        # (ingestion, handlers, the scheduler's other jobs) and PostgreSQL, from the first block on
        log(f"CPU seconds used meanwhile: worker {worker_cpu:.1f} s, PostgreSQL {postgres_cpu:.1f} s; "
            f"per event: worker {worker_cpu / max(handled, 1) * 1000:.2f} ms, PostgreSQL "
            f"{postgres_cpu / max(handled, 1) * 1000:.2f} ms")
        outcome.figure("events handled per CPU-second of the worker process",
                       handled / worker_cpu if worker_cpu else float("inf"), "events/s",
                       float(options.per_block), higher_is_better=True,
                       detail=f"worker {worker_cpu:.1f} CPU-s, PostgreSQL {postgres_cpu:.1f} CPU-s "
                       f"for {handled} events")
        if lags:
            log(f"lag: first block {lags[0]:.1f} s, last block {lags[-1]:.1f} s, p99 {pct(lags, .99):.1f} s")
        return outcome


def main() -> None:
    measure().exit()


if __name__ == "__main__":
    main()
