"""Payments that land the first time in a busy network (bench/network_bench.py): six Python-SDK
wallets paying each other PT_CHANNEL for 20 s through a real stack; the fraction refused at the
first attempt, by the hub's code, and the checks after the run (money conserved to the base unit,
every wallet agreeing with the hub, ledger, reconciliation)."""

from __future__ import annotations

from bench.figures import Result

TITLE = "six SDK wallets paying each other: payments refused at the first attempt"
ORDER = 30


def run(quick: bool) -> list[Result]:
    from bench import network_bench as bench

    m = bench.measure(wallets=4 if quick else 6, duration=8.0 if quick else 20.0)
    codes = ", ".join(f"{c} {n}" for c, n in m.codes.most_common()) or "none"
    causes = "; ".join(f"{c}: {n}" for c, n in m.causes.most_common())
    return [
        Result("refused at the first attempt", 100 * m.fraction, "%",
               f"<= {100 * bench.TARGET_REFUSED:.0f} %", m.fraction <= bench.TARGET_REFUSED,
               f"{m.refused} of {m.payments} ({codes})" + (f"; txCount taken by {causes}" if causes else "")),
        Result("money conserved, wallets agree with the hub", None, "", "every check passes",
               m.consistent, "; ".join(f"{'PASS' if ok else 'FAIL'} {name}"
                                       for name, (ok, _d) in m.checks.items())),
    ]
