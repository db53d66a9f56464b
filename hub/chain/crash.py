"""Crash points for the kill-the-worker tests (threats L1/L2).

`crashpoint(name)` ends the process on the spot, like SIGKILL, when the environment variable
SPOKE_CRASH_AT names it; otherwise it does nothing. The names are listed in CRASH_POINTS so the
tests are parametrized over all of them and a new step without a test fails CI."""

from __future__ import annotations

import os

ENV_VAR = "SPOKE_CRASH_AT"

TX_AFTER_SIGN = "transaction_submit.after_sign"
TX_AFTER_BROADCAST = "transaction_submit.after_broadcast"
TX_BEFORE_RECEIPT = "transaction_check.before_receipt"

CRASH_POINTS: tuple[str, ...] = (TX_AFTER_SIGN, TX_AFTER_BROADCAST, TX_BEFORE_RECEIPT)


def crashpoint(name: str) -> None:
    if name not in CRASH_POINTS:
        raise ValueError(f"unknown crash point {name!r}")
    if os.environ.get(ENV_VAR) == name:
        os._exit(137)  # no cleanup, no commit, no ack: exactly what SIGKILL leaves behind
