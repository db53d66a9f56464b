"""Runs the benchmark figures (bench/figures/, one module a figure) and prints each figure with its
target and a verdict.

    .venv/bin/python -m bench.run                 # every figure
    .venv/bin/python -m bench.run payments ...    # only these figure modules
    .venv/bin/python -m bench.run --quick         # smaller runs (a smoke test, not the figures)
    .venv/bin/python -m bench.run --list
    ./spoke bench [same arguments]

Each figure module runs in a process of its own; its output streams through, then the table of
all figures is printed at the end. Exit status: 0 when every judged figure met its target, 1 when
one missed, 2 when a figure module failed to produce its figures. The machine is shared and small:
absolute numbers are noisy, which is why the throughput figure is measured side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.figures import Result, load, names  # noqa: E402


def run_one(name: str, quick: bool, out: Path) -> None:
    """In the child process: run one figure module and write its results as JSON."""
    results = load(name).run(quick)
    out.write_text(json.dumps([r.to_json() for r in results]))


def verdict(result: Result) -> str:
    return {True: "MET", False: "MISSED", None: "-"}[result.met]


def table(rows: list[tuple[str, Result]]) -> str:
    lines = [("figure", "measured", "target", "verdict")]
    for module, r in rows:
        value = "n/a" if r.value is None else f"{r.value:,.{0 if abs(r.value) >= 100 else 2}f} {r.unit}"
        lines.append((f"{module}: {r.name}", value, r.target, verdict(r)))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    details = [f"  {module}: {r.name}: {r.detail}" for module, r in rows if r.detail]
    return "\n".join(out + (["", "details:", *details] if details else []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figures", nargs="*", help="figure modules to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="smaller runs: a smoke test")
    parser.add_argument("--list", action="store_true", help="list the figure modules and exit")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # child process: run this module
    parser.add_argument("--out", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.one:
        run_one(options.one, options.quick, Path(options.out))
        return
    available = names()
    if options.list:
        for name in available:
            print(f"{name:24} {getattr(load(name), 'TITLE', '')}")
        return
    unknown = [f for f in options.figures if f not in available]
    if unknown:
        raise SystemExit(f"unknown figure module(s) {unknown}; known: {available}")
    chosen = options.figures or available
    rows: list[tuple[str, Result]] = []
    failed: list[str] = []
    for name in chosen:
        print(f"=== {name}: {getattr(load(name), 'TITLE', '')}", flush=True)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="spoke-bench-run-") as tmp:
            out = Path(tmp) / "results.json"
            command = [sys.executable, "-m", "bench.run", "--one", name, "--out", str(out)]
            code = subprocess.run(command + (["--quick"] if options.quick else []), cwd=ROOT,
                                  env={**os.environ, "PYTHONUNBUFFERED": "1"}, check=False).returncode
            if code or not out.exists():
                failed.append(name)
                rows.append((name, Result("(the figure module failed)", None, "", "", None,
                                          f"exit status {code}; its output is above")))
            else:
                rows.extend((name, Result.from_json(r)) for r in json.loads(out.read_text()))
        print(f"=== {name}: done in {time.perf_counter() - started:.0f} s", flush=True)
    print()
    print(table(rows))
    missed = [f"{m}: {r.name}" for m, r in rows if r.met is False]
    print()
    print(f"{len(rows)} figures; missed: {len(missed)}; modules failed: {len(failed)}"
          + (" (quick run: smoke test, not the figures)" if options.quick else ""))
    raise SystemExit(2 if failed else 1 if missed else 0)


if __name__ == "__main__":
    main()
