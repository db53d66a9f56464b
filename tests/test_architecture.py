"""The code's layers hold (ARCHITECTURE.md): the import-linter contracts in pyproject.toml, and no
import cycle between modules of the application packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from stack import importgraph

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_import_cycle_between_modules() -> None:
    """Counting imports inside functions too: a function-level import is no way around a cycle."""
    _top, every, _inner = importgraph.collect()
    assert importgraph.cycles(every) == []
