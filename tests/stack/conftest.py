"""A working directory outside pytest's base temporary directory for tests that run PostgreSQL.

As root, embedded PostgreSQL runs as the `pgserver` user, which must traverse every directory
above its data; pytest's base (/tmp/pytest-of-root) is made private (0700) again by every pytest
run that starts on the machine, and other runs prune old base directories. A cluster under
tmp_path can so fail its initdb or lose its data mid-test."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="spoke-stack-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
