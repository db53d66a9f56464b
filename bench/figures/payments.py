"""Payments through the hub's HTTP API (bench/payments_bench.py): the closed-loop throughput of
this code against the code before issue 20's work, side by side in one run (two stacks, closed-loop
rounds alternating), both against the same raw crypto + durable-commit limit; latency at 100
payments/s; the contended run; the databases' consistency after the runs.

BENCH_BASELINE=<git revision> compares against another commit (default: BASELINE below)."""

from __future__ import annotations

import os

from bench.figures import Result

TITLE = "PT_CHANNEL payments through the HTTP API (side by side with the baseline, 100/s, contended)"
ORDER = 10
# main before issue 20 ("halve the cost of a payment"): the code the 2x is measured against
BASELINE = "d43a664"
TARGET_RATIO = 2.0


def run(quick: bool) -> list[Result]:
    from bench import payments_bench as bench

    sizes = dict(pairs=8, duration=8.0, max_duration=5.0, rounds=2) if quick else \
        dict(pairs=16, duration=20.0, max_duration=10.0, rounds=3)
    baseline = os.environ.get("BENCH_BASELINE", BASELINE)
    m = bench.measure(baseline=baseline or None, **sizes)
    results = []
    closed = bench.rate_of(m.closed_loop)
    if m.baseline is not None and m.ratio is not None:
        base = bench.rate_of(m.baseline)
        results.append(Result("closed loop: this code / baseline", m.ratio, "x",
                              f">= {TARGET_RATIO:.1f}x", m.ratio >= TARGET_RATIO,
                              f"{closed:.0f}/s against {base:.0f}/s ({m.baseline_label}), same run, "
                              f"{len(m.rounds)} alternating rounds: "
                              + ", ".join(f"{b:.0f} vs {t:.0f}" for b, t in m.rounds)))
        results.append(Result("baseline closed loop / raw limit", base / m.limit, "x",
                              "(informational)", None, f"{base:.0f}/s"))
    results.append(Result("closed loop / raw limit", closed / m.limit, "x", "(informational)", None,
                          f"{closed:.0f}/s; raw limit {m.limit:.0f}/s = 1 / (crypto {m.crypto_ms:.3f} ms"
                          f" + durable commit {m.commit_ms:.3f} ms); {len(m.closed_loop.errors)} refused"))
    for name, r in (("open loop", m.open_loop), ("contended", m.contended)):
        ms = [v * 1000 for v in r.latencies]
        rate = bench.rate_of(r)
        p50, p99 = bench.pct(ms, .50), bench.pct(ms, .99)
        results.append(Result(f"{name} at {m.rate:.0f}/s: rate", rate, "payments/s",
                              f">= {m.rate:.0f}/s, none refused", rate >= m.rate * .995 and not r.errors,
                              f"{len(r.errors)} refused" + (f", {r.retries} re-signed after a race"
                                                            if r.retries else "")))
        results.append(Result(f"{name} at {m.rate:.0f}/s: p50", p50, "ms", "<= 10 ms", p50 <= 10))
        results.append(Result(f"{name} at {m.rate:.0f}/s: p99", p99, "ms", "<= 50 ms", p99 <= 50,
                              "from the scheduled send (no coordinated omission), durable commits"))
    results.append(Result("consistency after the runs", None, "", "every check passes",
                          not m.failed, f"{m.crashed} load-thread exceptions; consistency "
                          f"{'pass' if m.consistent else 'FAIL'} (both databases)"))
    return results
