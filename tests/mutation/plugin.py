"""pytest plugin for `./spoke mutate` (mutmut 3; loaded with `-p tests.mutation.plugin`).

mutmut runs the suite once in its own process to learn which tests reach which function, then
forks one child per mutant that runs only those tests (`pytest -x`). Two things make that fast
enough here:

- The objects inherited from the fork server are frozen for the garbage collector (gc.freeze).

- A child never shares a database with a child running at the same time: it takes one of a few
  database slots (a file lock per slot, SPOKE_MUTATION_SLOTS), each a clone of the database the
  first run migrated (`CREATE DATABASE … TEMPLATE`). A slot is cloned again only when the child
  that used it last did not finish its session (killed at a timeout, crashed): a finished
  session leaves the database as it found it (each test's transaction is rolled back, a
  transactional test's tables are flushed), exactly as between two tests of one `./spoke test`
  session. Cloning for every mutant cost 0.2-2 s of its run, dropping 0.1-1.3 s more.
- A child runs its tests cheapest first (durations from the first run), so a killed mutant is
  usually caught by a fast test before the slow property tests start.
- A module's mutants are tested only by the tests listed for it in TESTS_FOR (when it has an
  entry): the pure core is judged by its own fast tests, not by every database test that
  happens to call it.
- Property tests (Hypothesis) run at most MAX_EXAMPLES examples (SPOKE_MUTATION_MAX_EXAMPLES)
  in every run mutmut makes: a 400-example state machine per mutant would take hours. mutmut's
  first run (which tests reach which function, and how long each takes) and its clean run use the
  same cap as the mutants' runs, so what it learns is what the mutants' runs will do; a
  mutant's run does not shrink a failing example (the first failure is the verdict).
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# mutmut's own phases (MUTANT_UNDER_TEST), as opposed to the name of a mutant
_PHASES = {"", "stats", "fail", "list_all_tests", "mutant_generation"}


# module prefix -> the test paths that judge its mutants (modules not listed: every test that
# reaches the function during mutmut's first run)
TESTS_FOR: dict[str, tuple[str, ...]] = {
    "hub.core.": ("tests/hub/core/",),
    "hub.auth.": ("tests/hub/api/test_auth_sessions.py", "tests/hub/api/test_protocol_auth.py",
                  "tests/hub/api/test_forged_requests.py"),
    "hub.purchases.": ("tests/purchases/", "tests/hub/api/test_forged_requests.py",
                       # PT_THREAD purchases; a refund paid into the payer's channel (hub_pay_user)
                       "tests/hub/threads/test_thread_flows.py::test_pt_thread_purchases_and_refusals",
                       "tests/payments/test_refunds.py::test_a_pending_refund_is_paid_by_the_sweep_exactly_once"),
    "hub.custodial.": ("tests/custodial/",),
    "hub.collateral.": ("tests/hub/collateral/",),
    "payments.refunds.": ("tests/payments/test_refunds.py", "tests/payments/test_refund_onchain.py",
                          "tests/payments/test_refund_rules.py"),
    "payments.settlements.": ("tests/payments/test_settlements.py",
                              "tests/payments/test_settlement_races.py"),
    "payments.api.auth.": ("tests/payments/test_api_keys.py", "tests/payments/test_isolation.py"),
    "payments.apikeys.": ("tests/payments/test_api_keys.py", "tests/dashboard/test_actions.py"),
    "payments.merchants.": ("tests/payments/test_isolation.py", "tests/dashboard/test_actions.py"),
    "linkpay.": ("tests/linkpay/",),
}


MAX_EXAMPLES = int(os.environ.get("SPOKE_MUTATION_MAX_EXAMPLES", "20"))
# database slots: more than the children mutmut runs at once (a finished child may still hold its
# slot for a moment while the next one starts)
SLOTS = int(os.environ.get("SPOKE_MUTATION_DB_SLOTS", "6"))


def _mutant_under_test() -> str:
    return os.environ.get("MUTANT_UNDER_TEST", "")


def in_mutant_child() -> bool:
    return _mutant_under_test() not in _PHASES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    child = in_mutant_child()
    for item in items:
        _cap_examples(item, shrink=not child)
    if not child:
        return
    from mutmut.state import state

    durations = state().duration_by_test
    items.sort(key=lambda item: durations.get(item.nodeid.removeprefix("mutants/"), 0.0))


def _capped(given: Any, shrink: bool) -> Any:
    from hypothesis import Phase, settings

    if not isinstance(given, settings):
        return given
    changes: dict[str, Any] = {}
    if given.max_examples > MAX_EXAMPLES:
        changes["max_examples"] = MAX_EXAMPLES
    if not shrink and Phase.shrink in given.phases:
        changes["phases"] = tuple(p for p in given.phases if p is not Phase.shrink)
    return settings(given, **changes) if changes else given


def _cap_examples(item: pytest.Item, *, shrink: bool) -> None:
    test = getattr(item, "obj", None)
    given = getattr(test, "_hypothesis_internal_use_settings", None)
    if given is not None:
        test._hypothesis_internal_use_settings = _capped(given, shrink)  # type: ignore[union-attr]
    machine = getattr(item, "cls", None)
    stateful = getattr(machine, "settings", None)
    if stateful is not None:
        machine.settings = _capped(stateful, shrink)  # type: ignore[union-attr]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """During mutmut's first run (before its own hook records which functions this test
    reached), forget the functions whose module this test does not judge."""
    if _mutant_under_test() != "stats":
        return
    from mutmut.state import state

    nodeid = item.nodeid.removeprefix("mutants/")
    reached = state()._stats
    for function in list(reached):
        for prefix, paths in TESTS_FOR.items():
            if function.startswith(prefix) and not nodeid.startswith(paths):
                reached.discard(function)


def pytest_configure(config: pytest.Config) -> None:
    if in_mutant_child():
        # A mutant's run is a fork of mutmut's fork server, which holds every module of the
        # project and the tests. pytest collects garbage several times at its end
        # (unraisableexception); walking that inherited heap touched every page of it (a
        # copy-on-write fault each) and cost more than the tests. Frozen, the collector skips it.
        gc.freeze()
    # registered now, after pytest-django: a plugin's fixture overrides only those registered
    # before it (with -p alone, pytest-django's own django_db_setup would win)
    config.pluginmanager.register(CloneDatabase(), "spoke-mutation-clone-db")


class CloneDatabase:
    @pytest.fixture(scope="session")
    def django_db_setup(self, request: pytest.FixtureRequest, django_test_environment: None,
                        django_db_blocker: Any) -> Iterator[None]:
        """The migrated test database is kept between runs (mutmut's own runs share it); a
        mutant's run works on a clone of it in a slot of its own (see the module's docstring)."""
        from django.conf import settings
        from django.db import connections
        from django.test.utils import setup_databases, teardown_databases

        with django_db_blocker.unblock():
            if not in_mutant_child():
                old_config = setup_databases(verbosity=0, interactive=False, keepdb=True)
                yield
                # keep it, and close every connection to it: a child clones it as a template
                teardown_databases(old_config, verbosity=0, keepdb=True)
                connections.close_all()
                return
            connection = connections["default"]
            original = dict(connection.settings_dict)
            connection.settings_dict["NAME"] = connection.creation._get_test_db_name()
            with _database_slot() as (suffix, clean):
                if not clean.exists():
                    # the slot's last user did not finish (or it was never made): clone it afresh
                    connection.creation.clone_test_db(suffix=suffix, verbosity=0, keepdb=False)
                clone = connection.creation.get_test_db_clone_settings(suffix)
                connection.close()
                connection.settings_dict.update(clone)
                settings.DATABASES["default"]["NAME"] = clone["NAME"]
                clean.unlink(missing_ok=True)  # in use: a run that dies from here leaves it dirty
                _own_redis_database(suffix)
                try:
                    yield
                finally:
                    connections.close_all()
                    connection.settings_dict.update(original)
                if suffix.startswith("slot"):
                    # the session finished: every test rolled back or flushed what it wrote
                    clean.touch()
                else:
                    connection.creation._destroy_test_db(clone["NAME"], verbosity=0)


def _own_redis_database(suffix: str) -> None:
    """A slot's own Redis database, emptied, for the child's session (the run's database less
    the slot's number + 1, as xdist's workers: tests/workers.py). Children run side by side:
    in one shared database, a test's guess- and rate-limit buckets (keyed by 127.0.0.1, by an
    API key) took the failures of another child's test too, and the test failed for it, a
    mutant counted as killed that no test kills (2026-12-07: 8 such linkpay mutants in one
    run, not in the next)."""
    if not suffix.startswith("slot"):
        return
    import redis
    from django.conf import settings

    from tests.workers import worker_redis_url

    # once per child: each is a fresh fork of the fork server, whose settings name the run's own
    url = worker_redis_url(settings.REDIS_URL, int(suffix[len("slot"):]) + 1)
    settings.REDIS_URL = os.environ["REDIS_URL"] = url
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@contextmanager
def _database_slot() -> Iterator[tuple[str, Path]]:
    """A database slot no other child holds: (the clone's suffix, its "clean" marker)."""
    import fcntl

    where = os.environ.get("SPOKE_MUTATION_SLOTS")
    if not where:
        # no slot directory of this run (mutmut started by hand): a clone of its own, dropped
        # afterwards (a marker from another run would name a database this server never had)
        with tempfile.TemporaryDirectory() as scratch:
            yield f"m{os.getpid()}", Path(scratch) / "clean"
        return
    slots = Path(where)
    slots.mkdir(parents=True, exist_ok=True)
    while True:
        for number in range(SLOTS):
            lock = (slots / f"slot{number}.lock").open("w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            try:
                yield f"slot{number}", slots / f"slot{number}.clean"
            finally:
                lock.close()  # the lock goes with it (and with the process, if it is killed)
            return
        time.sleep(0.05)  # every slot busy (a child still exiting): wait for one
