"""The figures of the benchmark runner (`python -m bench.run`, `./spoke bench`): one module a figure.

A figure module in this package is found by name (every module here that does not start with an
underscore) and provides:

    TITLE = "closed-loop payments"       # one line, shown by --list
    ORDER = 10                           # optional: where it runs (low first; default 100)

    def run(quick: bool) -> list[Result]:
        # measure, print what you like as you go, return one Result per figure with its target
        ...

`run` is called in a process of its own (a figure may start a whole stack and call
django.setup() with its own settings), from the repository root. `quick` asks for a smaller,
faster run (for a smoke test of the figure); the figures' targets are judged either way, but
only a full run is the figure. A figure that raises is reported as an error, not as a miss.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import asdict, dataclass
from types import ModuleType
from typing import Any


@dataclass
class Result:
    name: str  # what was measured, e.g. "closed loop vs previous commit"
    value: float | None  # None when it could not be measured
    unit: str  # "payments/s", "ms", "x", ...
    target: str  # the target in words, e.g. ">= 2.0x"
    met: bool | None  # None: not judged (informational)
    detail: str = ""  # one line: conditions, the figures it came from

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Result:
        return cls(**data)


def names() -> list[str]:
    """Every figure module, in running order."""
    found = [m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
    return sorted(found, key=lambda name: (getattr(load(name), "ORDER", 100), name))


def load(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{name}")
