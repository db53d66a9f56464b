"""Fixtures for link tests, and the secret scan (see secret_scan.py): after every test that
registered secrets, the test database must not hold them; at the end of the session, no log
record may contain any of them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.linkpay import secret_scan
from tests.payments.conftest import make_shop, other_shop, shop  # noqa: F401  (fixtures)


def pytest_configure(config: pytest.Config) -> None:
    secret_scan.capture_logs()


_BEFORE = pytest.StashKey[frozenset[str]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    item.stash[_BEFORE] = frozenset(secret_scan.SECRETS)
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: Any) -> Iterator[None]:
    hits = scan_after_test(item)  # before the fixtures, and the test database, are torn down
    result = yield
    assert not hits, f"link secrets stored in plain text in: {hits}"
    return result


def scan_after_test(item: pytest.Item) -> list[str]:
    secret_scan.capture_logs()  # loggers created during the test
    new = secret_scan.SECRETS - item.stash.get(_BEFORE, frozenset())
    if not new or item.get_closest_marker("django_db") is None:
        return []
    return secret_scan.scan_database(new)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    hits = secret_scan.scan_logs(secret_scan.SECRETS)
    workeroutput = getattr(session.config, "workeroutput", None)
    if hits and workeroutput is not None:  # an xdist worker: the controller fails the run
        from tests.workers import SECRET_HITS

        workeroutput[SECRET_HITS] = hits
    if hits:
        session.config.get_terminal_writer().line(
            "link secrets found in log output:\n  " + "\n  ".join(hits), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def _fresh_guess_limits() -> None:
    """The guess limiter's buckets live in Redis across tests; every test starts clean (all
    test clients come from 127.0.0.1)."""
    from linkpay.ratelimit import guess_reset

    guess_reset([("ip", "127.0.0.1")])
