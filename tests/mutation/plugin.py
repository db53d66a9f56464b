"""pytest plugin for `./spoke mutate` (mutmut 3; loaded with `-p tests.mutation.plugin`).

mutmut runs the suite once in its own process to learn which tests reach which function, then
forks one child per mutant that runs only those tests (`pytest -x`). Two things make that fast
enough here:

- The objects inherited from the fork server are frozen for the garbage collector (gc.freeze).

- Each child gets its own copy of the test database, cloned in PostgreSQL from the one the first
  run migrated (`CREATE DATABASE … TEMPLATE`: tens of milliseconds, against seconds for
  migrations), so two children never see each other's rows.
- A child runs its tests cheapest first (durations from the first run), so a killed mutant is
  usually caught by a fast test before the slow property tests start.
- A module's mutants are tested only by the tests listed for it in TESTS_FOR (when it has an
  entry): the pure core is judged by its own fast tests, not by every database test that
  happens to call it.
- Property tests (Hypothesis) run at most MAX_EXAMPLES examples per mutant
  (SPOKE_MUTATION_MAX_EXAMPLES): a 400-example state machine per mutant would take hours. mutmut's
  own runs of the unmutated code keep the tests' full settings.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from typing import Any

import pytest

# mutmut's own phases (MUTANT_UNDER_TEST), as opposed to the name of a mutant
_PHASES = {"", "stats", "fail", "list_all_tests", "mutant_generation"}


# module prefix -> the test paths that judge its mutants (modules not listed: every test that
# reaches the function during mutmut's first run)
TESTS_FOR: dict[str, tuple[str, ...]] = {
    "hub.core.": ("tests/hub/core/",),
    "hub.auth.": ("tests/hub/api/test_protocol_auth.py", "tests/hub/api/test_forged_requests.py"),
    "hub.purchases.": ("tests/purchases/", "tests/hub/api/test_forged_requests.py"),
    "hub.custodial.": ("tests/custodial/",),
    "hub.collateral.": ("tests/hub/collateral/",),
    "payments.refunds.": ("tests/payments/test_refunds.py",),
    "payments.settlements.": ("tests/payments/test_settlements.py",
                              "tests/payments/test_settlement_races.py"),
    "payments.api.auth.": ("tests/payments/test_api_keys.py", "tests/payments/test_isolation.py"),
    "payments.apikeys.": ("tests/payments/test_api_keys.py", "tests/dashboard/test_actions.py"),
    "payments.merchants.": ("tests/payments/test_isolation.py", "tests/dashboard/test_actions.py"),
    "linkpay.": ("tests/linkpay/",),
}


MAX_EXAMPLES = int(os.environ.get("SPOKE_MUTATION_MAX_EXAMPLES", "20"))


def _mutant_under_test() -> str:
    return os.environ.get("MUTANT_UNDER_TEST", "")


def in_mutant_child() -> bool:
    return _mutant_under_test() not in _PHASES


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not in_mutant_child():
        return
    from mutmut.state import state

    durations = state().duration_by_test
    items.sort(key=lambda item: durations.get(item.nodeid.removeprefix("mutants/"), 0.0))
    for item in items:
        _cap_examples(item)


def _cap_examples(item: pytest.Item) -> None:
    from hypothesis import settings

    test = getattr(item, "obj", None)
    given = getattr(test, "_hypothesis_internal_use_settings", None)
    if isinstance(given, settings) and given.max_examples > MAX_EXAMPLES:
        test._hypothesis_internal_use_settings = settings(given, max_examples=MAX_EXAMPLES)  # type: ignore[union-attr]
    machine = getattr(item, "cls", None)
    stateful = getattr(machine, "settings", None)
    if isinstance(stateful, settings) and stateful.max_examples > MAX_EXAMPLES:
        machine.settings = settings(stateful, max_examples=MAX_EXAMPLES)  # type: ignore[union-attr]


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
        mutant's run works on a clone of it that is dropped afterwards."""
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
            suffix = f"m{os.getpid()}"
            connection.settings_dict["NAME"] = connection.creation._get_test_db_name()
            connection.creation.clone_test_db(suffix=suffix, verbosity=0, keepdb=False)
            clone = connection.creation.get_test_db_clone_settings(suffix)
            connection.close()
            connection.settings_dict.update(clone)
            settings.DATABASES["default"]["NAME"] = clone["NAME"]
            try:
                yield
            finally:
                connections.close_all()
                connection.creation._destroy_test_db(clone["NAME"], verbosity=0)
                connection.settings_dict.update(original)
