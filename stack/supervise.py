"""Keeping `./spoke up`'s children running: a child that dies is restarted after a capped,
exponentially growing delay, and every death is reported (log line + operator alarm).

The delay doubles with each death in a row and is capped, so a child that crashes at start-up is
retried every `cap` seconds instead of spinning the CPU; a child that stayed up for `stable_after`
seconds starts again from the base delay."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Unit(Protocol):
    """A child process the supervisor can watch and start again (Service or ChildServer)."""

    name: str

    def returncode(self) -> int | None:
        """None while running; the exit status once it has exited (or -1 if never started)."""

    def current_pid(self) -> int | None: ...

    def restart(self) -> None:
        """Clear what is left of the dead process (its group) and start it again; may raise."""


@dataclass(frozen=True)
class Backoff:
    base: float = 0.5
    cap: float = 30.0
    stable_after: float = 60.0

    def delay(self, deaths_in_a_row: int) -> float:
        return min(self.cap, self.base * 2 ** max(0, deaths_in_a_row - 1))


@dataclass(frozen=True)
class Death:
    """One child died; it will be started again after `delay` seconds."""

    name: str
    pid: int | None
    returncode: int | None
    deaths_in_a_row: int
    delay: float
    data_server: bool
    error: str = ""

    @property
    def how(self) -> str:
        code = self.returncode
        if code is None:
            return f"failed to start ({self.error})"
        if code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with status {code}"


@dataclass(frozen=True)
class Restarted:
    death: Death
    pid: int | None


class Watched:
    def __init__(self, unit: Unit, *, data_server: bool, now: float) -> None:
        self.unit = unit
        self.data_server = data_server
        self.started_at = now
        self.deaths_in_a_row = 0
        self.pending: Death | None = None
        self.restart_at = 0.0


class Supervisor:
    """Call `poll()` periodically (the launcher does every 0.5 s). It never blocks longer than a
    child's own start-up (a data server waits for its port)."""

    def __init__(self, backoff: Backoff | None = None,
                 on_death: Callable[[Death], None] | None = None,
                 on_restart: Callable[[Restarted], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backoff = backoff or Backoff()
        self.on_death = on_death or (lambda _death: None)
        self.on_restart = on_restart or (lambda _restarted: None)
        self.clock = clock
        self.watched: list[Watched] = []

    def watch(self, unit: Unit, *, data_server: bool = False) -> None:
        self.watched.append(Watched(unit, data_server=data_server, now=self.clock()))

    def poll(self) -> None:
        for watched in self.watched:
            now = self.clock()
            if watched.pending is None:
                code = watched.unit.returncode()
                if code is None:
                    continue
                self._died(watched, code, watched.unit.current_pid(), now)
                continue
            if now < watched.restart_at:
                continue
            death = watched.pending
            watched.started_at = now  # a failed start is a death in a row, never "stable"
            try:
                watched.unit.restart()
            except Exception as exc:  # a start that fails counts as one more death
                self._died(watched, None, None, self.clock(), error=f"{type(exc).__name__}: {exc}")
                continue
            watched.pending = None
            self.on_restart(Restarted(death, watched.unit.current_pid()))

    def _died(self, watched: Watched, code: int | None, pid: int | None, now: float,
              error: str = "") -> None:
        if now - watched.started_at >= self.backoff.stable_after:
            watched.deaths_in_a_row = 0
        watched.deaths_in_a_row += 1
        delay = self.backoff.delay(watched.deaths_in_a_row)
        death = Death(watched.unit.name, pid, code, watched.deaths_in_a_row, delay,
                      watched.data_server, error)
        watched.pending = death
        watched.restart_at = now + delay
        self.on_death(death)
