"""Chain ingestion against 1-second blocks of 500 ChannelManager events (bench/ingest_bench.py)."""

from __future__ import annotations

from bench.figures import Result
from bench.figures._hotpath import results

TITLE = "chain ingestion, 1-second blocks of 500 DidUpdateChannel events (real anvil, real worker)"
ORDER = 60


def run(quick: bool) -> list[Result]:
    from bench.ingest_bench import measure

    return results(measure(["--blocks", "2", "--per-block", "50"] if quick else []))
