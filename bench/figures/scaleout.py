"""Scale-out on one PostgreSQL and one Redis (bench/scaleout_bench.py): the 32-payer conservation
soak through 1, 2 and 3 web process groups with two worker processes and two schedulers; payments/s
per group count, and the checks after the rounds (every hub transaction mined with a nonce never
used twice, one scheduler ran, value conserved to the base unit, ledger and states agree)."""

from __future__ import annotations

from bench.figures import Result

TITLE = "scale-out soak: 32 payers through 1, 2 and 3 web groups, 2 workers, 2 schedulers"
ORDER = 40


def run(quick: bool) -> list[Result]:
    from bench import scaleout_bench as bench

    options = bench.options_for(payers=8, receivers=3, duration=6.0, groups="1,2") if quick else \
        bench.options_for()
    m = bench.measure(options)
    results = [Result(f"{groups} web group(s): payments landed", rate, "payments/s",
                      "(informational: one 2-core machine)", None, line)
               for (groups, rate), line in zip(sorted(m.rates.items()), m.lines, strict=True)]
    results.append(Result("soak checks (outbox nonces, one scheduler, conservation)", None, "",
                          "every check passes", m.consistent,
                          "; ".join(f"{'PASS' if ok else 'FAIL'} {name}"
                                    for name, (ok, _d) in m.checks.items())
                          + (f"; errors: {m.errors[:3]}" if m.errors else "")))
    return results
