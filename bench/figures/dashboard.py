"""The dashboard's overview and payments list with 1 000 000 payments (bench/dashboard_bench.py)."""

from __future__ import annotations

from bench.figures import Result
from bench.figures._hotpath import results

TITLE = "dashboard overview and payments list p95 with 1 000 000 payments (seeded)"
ORDER = 50


def run(quick: bool) -> list[Result]:
    from bench.dashboard_bench import measure

    return results(measure(["--payments", "20000", "--requests", "5"] if quick else []))
