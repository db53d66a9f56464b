"""Isolation of the test processes when pytest-xdist runs the suite in parallel (`./spoke test`
does, with `-n`). Loaded with `-p tests.workers` (pyproject addopts), so it acts before
pytest-django reads the Django settings.

Per worker process ("gw0", "gw1", ...):
- PostgreSQL: pytest-django suffixes the test database with the worker id (test_<name>_gw0);
- Redis: the run's database number minus the worker's index (13, 12, ... with `./spoke test`),
  so a test that clears its database (the cache, the rate limiter, Dramatiq's queues) never
  touches another worker's keys;
- anvil, daphne, gunicorn, workers: their own, on free ports (session fixtures are per process);
- files: pytest's tmp_path is per worker.

And the controller fails the run when a worker reports link secrets in its log records (the
session-end scan of tests/linkpay/conftest.py runs in each worker, over what that worker logged).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

SECRET_HITS = "spoke_secret_log_hits"


def worker_index() -> int | None:
    """0 for xdist's "gw0", 1 for "gw1", ...; None outside xdist workers."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else None


def worker_redis_url(url: str, index: int) -> str:
    """`url` with the Redis database number lowered by `index` (the run's own number for gw0)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        raise pytest.UsageError("parallel test runs need a redis:// REDIS_URL (a database per worker)")
    base = int(parts.path.strip("/") or 0)
    db = base - index
    if db < 1:  # database 0 is the default of a developer's running stack
        raise pytest.UsageError(f"REDIS_URL database {base} leaves no Redis database for worker {index}")
    return urlunsplit(parts._replace(path=f"/{db}"))


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: Any, args: list[str]) -> Iterator[None]:
    index = worker_index()
    if index is not None and os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = worker_redis_url(os.environ["REDIS_URL"], index)
    return (yield)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """Controller: collect what each worker's log scan found."""
    hits = getattr(node, "workeroutput", {}).get(SECRET_HITS)
    if hits:
        node.config.stash.setdefault(_HITS, []).extend(hits)


_HITS = pytest.StashKey[list[str]]()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    hits = session.config.stash.get(_HITS, [])
    if hits:
        session.config.get_terminal_writer().line(
            "link secrets found in the workers' log output:\n  " + "\n  ".join(hits), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
