"""Shared by the hot-path figure modules: the figures and checks of a bench/*_bench.py `measure`
as the runner's Results."""

from __future__ import annotations

from bench.figures import Result
from bench.hotpath import Outcome, load


def results(outcome: Outcome) -> list[Result]:
    found = [Result(f.name, f.value, f.unit, f.target_text, f.met, f.detail or load())
             for f in outcome.figures]
    failed = [name for name, ok in outcome.checks.items() if not ok]
    found.append(Result("behaviour checks", float(len(outcome.checks) - len(failed)), "passed",
                        f"all {len(outcome.checks)}", not failed,
                        "failed: " + "; ".join(failed) if failed else "; ".join(outcome.checks)))
    return found
