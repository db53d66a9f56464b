"""The reconciliation pass over 100 000 seeded channels (bench/reconcile_bench.py)."""

from __future__ import annotations

from bench.figures import Result
from bench.figures._hotpath import results

TITLE = "reconciliation pass over 100 000 channels (seeded; real anvil, real contract reads)"
ORDER = 40


def run(quick: bool) -> list[Result]:
    from bench.reconcile_bench import measure

    return results(measure(["--channels", "2000"] if quick else []))
