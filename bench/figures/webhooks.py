"""Webhook deliveries per worker process to a local receiver (bench/webhooks_bench.py)."""

from __future__ import annotations

from bench.figures import Result
from bench.figures._hotpath import results

TITLE = "webhook deliveries per worker process (real Dramatiq worker, signed, local receiver)"
ORDER = 30


def run(quick: bool) -> list[Result]:
    from bench.webhooks_bench import measure

    return results(measure(["--events", "300"] if quick else []))
