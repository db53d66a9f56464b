"""The hot-path benchmarks of bench/ (issue 20), each run at a tiny size on its own private stack:
they must start, exercise the real path and pass their behaviour checks (every delivery, push,
event and mismatch accounted for). Timings are the benchmarks' business, never asserted here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


def run_bench(script: str, *args: str) -> str:
    # the benchmark starts its own PostgreSQL, Valkey, anvil and worker: none of the test run's
    # servers or settings (the in-memory Dramatiq broker of the unit tests, DEBUG, no pooling)
    test_run = ("DATABASE_URL", "REDIS_URL", "ETH_RPC_URL", "DRAMATIQ_STUB", "DEBUG",
                "DB_CONN_MAX_AGE", "DB_POOL_SIZE", "SPOKE_DEVDATA", "SPOKE_NO_DEVDATA")
    env = {k: v for k, v in os.environ.items() if k not in test_run
           and not k.startswith(("SPOKE_TEST", "PYTEST", "DJANGO"))}
    out = subprocess.run([sys.executable, f"bench/{script}", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=1100, check=False)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    assert "check: FAIL" not in text, text[-4000:]
    assert re.search(r"\[bench\] figure: .+ -> (met|missed)", text), text[-4000:]
    return text


def test_reconciliation_bench_finds_exactly_the_one_difference() -> None:
    text = run_bench("reconcile_bench.py", "--channels", "300")
    assert "check: PASS exactly the one channel put off was reported" in text
    assert "check: PASS every seeded channel was reconciled (300 of 300)" in text


def test_dashboard_bench_serves_both_pages_over_the_seeded_payments() -> None:
    text = run_bench("dashboard_bench.py", "--payments", "3000", "--requests", "2")
    assert "check: PASS the payments list shows the newest payment first" in text
    assert "figure: dashboard overview p95 with 3000 payments" in text
    assert "figure: dashboard payments list p95 with 3000 payments" in text


def test_webhook_bench_delivers_every_event_once_with_a_valid_signature() -> None:
    text = run_bench("webhooks_bench.py", "--events", "40")
    assert "check: PASS the receiver got each delivery once, every signature valid" in text


def test_ingest_bench_handles_every_event_of_its_blocks() -> None:
    text = run_bench("ingest_bench.py", "--blocks", "2", "--per-block", "10")
    assert "check: PASS each deposit was confirmed once (ConfirmPending)" in text


def test_push_bench_delivers_each_payment_state_to_its_subscriber() -> None:
    text = run_bench("push_bench.py", "--pairs", "2", "--rate", "4", "--duration", "3")
    assert "check: PASS each accepted payment's state reached its recipient's socket, once" in text
