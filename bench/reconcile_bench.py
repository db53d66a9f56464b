"""Benchmark: the reconciliation pass (hub/channels/reconciliation.py) over N channels.

A private PostgreSQL (fsync on) is seeded with N channels in one statement each (generate_series):
per channel a hub-signed latest state holding a user wei balance and a hub token balance, and
the four ledger entries that state posted (each field against the channel's `chain` account). The
contracts are deployed on a private anvil, so the pass reads every channel from the real
ChannelManager as it does in production (the seeded channels are not on that chain: their
states' txCountChain is ahead of the contract's, so the totals are read and not compared, as for a
deposit the chain has not confirmed yet). One seeded channel's ledger is then put off by one
base unit: the pass must find exactly that difference, and nothing else.

Target: the pass over 100 000 channels in under a minute.

    .venv/bin/python bench/reconcile_bench.py [--channels 100000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hotpath import Outcome, bench_stack, load, log, tree_cpu

TARGET_SECONDS = 60.0


def seed(n: int) -> int:
    """N channels with a latest state and its ledger entries; returns the first channel's id."""
    from django.conf import settings
    from django.db import connection, transaction

    contract = settings.CHANNEL_MANAGER_ADDRESS.lower() or "0x" + "cc" * 20
    zero_root = "0x" + "00" * 32
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO hub_channel (contract, \"user\", status, push_sequence, created_at, updated_at) "
            "SELECT %s, '0xbe' || lpad(to_hex(i), 38, '0'), 'open', 2, now(), now() "
            "FROM generate_series(1, %s) i", [contract, n])
        cursor.execute("SELECT min(id) FROM hub_channel WHERE \"user\" LIKE '0xbe%%'")
        first = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO hub_channelupdate (channel_id, reason, args, originator, recipient, "
            "balance_wei_hub, balance_wei_user, balance_token_hub, balance_token_user, "
            "pending_deposit_wei_hub, pending_deposit_wei_user, pending_deposit_token_hub, "
            "pending_deposit_token_user, pending_withdrawal_wei_hub, pending_withdrawal_wei_user, "
            "pending_withdrawal_token_hub, pending_withdrawal_token_user, tx_count_global, "
            "tx_count_chain, thread_root, thread_count, timeout, state_hash, sig_hub, sig_user, "
            "created_at) "
            "SELECT c.id, 'ConfirmPending', '{}', c.\"user\", c.\"user\", 0, 1000000000000000 + c.id, "
            "1000000000000000000 + c.id, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 1, %s, 0, 0, "
            "'0x' || md5(c.id::text) || md5(c.\"user\"), '0x' || repeat('ab', 65), "
            "'0x' || repeat('cd', 65), now() "
            "FROM hub_channel c WHERE c.\"user\" LIKE '0xbe%%'", [zero_root])
        cursor.execute(
            "UPDATE hub_channel c SET latest_update_id = u.id FROM hub_channelupdate u "
            "WHERE u.channel_id = c.id AND c.\"user\" LIKE '0xbe%%'")
        cursor.execute(
            "INSERT INTO hub_ledgerentry (posting, account, asset, amount, memo, channel_update_id, "
            "created_at) "
            "SELECT gen_random_uuid(), 'channel:' || u.channel_id || ':' || e.field, e.asset, "
            "e.sign * (CASE e.asset WHEN 'wei' THEN u.balance_wei_user ELSE u.balance_token_hub END), "
            "'bench seed', u.id, now() "
            "FROM hub_channelupdate u, (VALUES ('balance_wei_user', 'wei', 1), ('chain', 'wei', -1), "
            "('balance_token_hub', 'token', 1), ('chain', 'token', -1)) AS e(field, asset, sign) "
            "WHERE u.reason = 'ConfirmPending' AND u.sig_hub = '0x' || repeat('ab', 65)")
        cursor.execute("ANALYZE")
    return int(first)


def measure(argv: list[str] | None = None) -> Outcome:
    """Run the benchmark (`argv`: its command-line options) and return its figures and checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the pass")
    options = parser.parse_args(argv)
    n = options.channels
    with bench_stack("reconcile", chain=True, redis=False) as stack:
        from django.db import connection

        from hub.channels.reconciliation import reconcile_channels
        from hub.ledger.services import post

        t0 = time.perf_counter()
        first = seed(n)
        log(f"seeded {n} channels, {n} states and {4 * n} ledger entries in "
            f"{time.perf_counter() - t0:.1f} s")
        odd = first + n // 2
        post([(f"channel:{odd}:balance_wei_user", "wei", 1), (f"channel:{odd}:chain", "wei", -1)],
             memo="bench: one unit off")
        connection.close()
        servers = {"PostgreSQL": stack.servers[0].proc.pid, "anvil": stack.anvil.proc.pid}
        server_cpu = {name: tree_cpu(pid) for name, pid in servers.items()}
        started, cpu = time.perf_counter(), time.process_time()
        if options.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            report = profiler.runcall(reconcile_channels)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        else:
            report = reconcile_channels()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        server_cpu = {name: tree_cpu(pid) - server_cpu[name] for name, pid in servers.items()}
        total_cpu = cpu + sum(server_cpu.values())
        log("CPU seconds of the pass: hub " + f"{cpu:.1f} s, " + ", ".join(
            f"{name} {v:.1f} s" for name, v in server_cpu.items()) + f"; total {total_cpu:.1f} s")
        log(f"reconciliation pass over {report.channels} channels: {elapsed:.1f} s "
            f"({report.channels / elapsed:.0f} channels/s; {cpu:.1f} s of this process's CPU; {load()})")
        outcome = Outcome()
        outcome.check("every seeded channel was reconciled", report.channels == n,
                      f"{report.channels} of {n}")
        found = [(m["channel"], m["field"]) for m in report.mismatches]
        outcome.check("exactly the one channel put off was reported", found == [
            (f"0xbe{odd - first + 1:038x}", "balance_wei_user")], f"{found[:3]}")
        # the target scales with the channel count (60 s for 100 000: 1 667 channels/s)
        outcome.figure(f"reconciliation pass over {n} channels", elapsed, "s",
                       TARGET_SECONDS * n / 100_000, higher_is_better=False,
                       detail=f"wall clock, {load()}")
        # the machine is shared: what the pass cost in CPU (the hub's process, PostgreSQL and
        # the node together) is what it would take with the cores to itself, at most
        outcome.figure(f"reconciliation pass over {n} channels, CPU-seconds (hub + PostgreSQL + node)",
                       total_cpu, "s", TARGET_SECONDS * n / 100_000, higher_is_better=False,
                       detail=f"hub {cpu:.1f} s, " + ", ".join(
                           f"{name} {v:.1f} s" for name, v in server_cpu.items()))
        return outcome


def main() -> None:
    measure().exit()


if __name__ == "__main__":
    main()
