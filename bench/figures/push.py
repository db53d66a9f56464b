"""WebSocket state pushes at 100 payments/s (bench/push_bench.py)."""

from __future__ import annotations

from bench.figures import Result
from bench.figures._hotpath import results

TITLE = "WebSocket state push p99 at 100 payments/s (daphne + channels-redis, real payments)"
ORDER = 20


def run(quick: bool) -> list[Result]:
    from bench.push_bench import measure

    return results(measure(["--pairs", "4", "--rate", "20", "--duration", "5"] if quick else []))
