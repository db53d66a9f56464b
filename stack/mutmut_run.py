"""`mutmut run` for `./spoke mutate` (stack/mutate.py), without one redundant pass over the tests.

Before testing mutants, mutmut 3 runs the test selection once to learn which tests reach which
function (its stats run, `pytest -x`: it stops with "failed to collect stats" unless every test
passes), then runs the same tests again on the unmutated code (its clean run) to check that they
pass. When the stats run of this same invocation covered the whole selection, the clean run can
only repeat its verdict: it is skipped, which saves a full pass over the suite (minutes, of a run
that must fit in 30). When the stats come from an earlier run (kept in ./mutants), or only new
tests were run for them, the clean run happens as usual.

    python stack/mutmut_run.py --max-children 2 [MUTANT_NAME ...]   (what `mutmut run` takes)

Started as a script, not as `-m stack.mutmut_run`: the project's own packages must be imported
only from ./mutants, where mutmut puts them first on the path (a module imported from the tree
before that would stay the unmutated one).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from math import ceil
from typing import Any


class _Distribution:
    """An installed distribution whose entry points are read once (see cache_distributions)."""

    def __init__(self, dist: Any) -> None:
        self._dist = dist
        self.entry_points = dist.entry_points

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dist, name)


def cache_distributions() -> None:
    """importlib.metadata.distributions(), listed once for the whole run.

    Every mutant's run starts pytest, whose `-p NAME` options (PYTEST_ADDOPTS, stack/mutate.py)
    each look for an entry point of that name in every installed distribution: 12 scans of ~150
    metadata files per mutant, 0.1 CPU-s of a run that takes 0.3. Nothing is installed during a
    run: they are listed once here (with their entry points), before mutmut forks its fork
    server, and every child inherits the list."""
    import importlib.metadata as metadata

    scan = metadata.distributions
    found = [_Distribution(dist) for dist in scan()]

    def distributions(**kwargs: Any) -> Iterator[Any]:
        if kwargs:  # a search by name or path: as before
            return iter(scan(**kwargs))
        return iter(found)

    metadata.distributions = distributions  # type: ignore[assignment]


# the wall-clock limit of a mutant's run, per CPU-second of its CPU limit (mutmut's own: 1/2)
WALL_PER_CPU_SECOND = 10 / 3
# mutmut's `est` counts only the tests' calls; a database test's fixtures are not in it (a
# transactional test's flush: ~0.35 CPU-s), and a surviving mutant runs every one of its tests.
# Each test of a mutant outside the pure core adds this much to its CPU limit (and 10/3 as much
# to its wall limit). main's run of 2026-12-06 (mutmut's limits, load 15-20) counted 22 linkpay
# mutants as timeouts, message-prose changes among them: most likely survivors running all 17
# of their tests, flushes included, past 15 * (est + 1) = 27 s of wall time.
FIXTURE_CPU_PER_TEST = 0.5
PURE_PREFIX = "hub.core."


def with_fixture_allowance(runner: Any) -> None:
    """The runner's submit, with FIXTURE_CPU_PER_TEST per test added to the CPU limit of a mutant
    outside the pure core."""
    submit = runner.submit

    def submit_with_fixtures(mutant_name: str, tests: list[str], cpu_time_limit: int,
                             estimated_time: float) -> None:
        if not mutant_name.startswith(PURE_PREFIX):
            cpu_time_limit += ceil(FIXTURE_CPU_PER_TEST * len(tests))
        submit(mutant_name, tests, cpu_time_limit, estimated_time)

    runner.submit = submit_with_fixtures


def with_durations(runner: Any) -> None:
    """Each result with the wall time of its mutant's run (from submission, which waits for a
    free child, to the result): mutmut's fork server reports 0, and `durations_by_key` in the
    ./mutants/**.meta files is where a run's time per mutant can be read afterwards."""
    import time

    started: dict[str, float] = {}
    submit, wait = runner.submit, runner.wait_for_result

    def submit_timed(mutant_name: str, tests: list[str], cpu_time_limit: int,
                     estimated_time: float) -> None:
        started[mutant_name] = time.monotonic()
        submit(mutant_name, tests, cpu_time_limit, estimated_time)

    def wait_timed(timeout: float | None = None) -> Any:
        result = wait(timeout)
        began = started.pop(result.mutant_name, None)
        if began is not None and not result.duration:
            result.duration = time.monotonic() - began
        return result

    runner.submit, runner.wait_for_result = submit_timed, wait_timed


def wall_limit_from_cpu_limit() -> None:
    """A mutant's run is stopped (and counted as a timeout) at a CPU limit, or at a wall-clock
    limit for a run that hangs without using the CPU. mutmut derives both from the time its
    first run measured for the mutant's tests, `est`: a CPU limit of 2 * multiplier * (est +
    constant) CPU-seconds and a wall limit of half that. The CPU limit does not depend on the
    machine's other load; the wall limit does: a normal run on a busy machine must not reach it.
    pyproject.toml sets multiplier 1.5 and constant 3: a CPU limit of 3 * (est + 3) CPU-s (a
    normal run uses 0.1-2 CPU-s, most of which is est itself); a mutant that loops forever (a
    `while` whose condition no longer ends, `range(0, 2)` in place of a stride) is stopped
    after that much CPU, not after 15 * (est + 1) s as with mutmut's defaults, during which it
    burned a core. The wall limit is 10/3 of the CPU limit: 10 * (est + 3) s for the pure core
    (mutmut's default: 15 * (est + 1) s), more outside it (with_fixture_allowance)."""
    from mutmut.workers import isolation

    register = isolation.register_timeout

    def register_timeout(pid: int, timeout_s: float) -> None:
        register(pid, timeout_s * 2 * WALL_PER_CPU_SECOND)

    isolation.register_timeout = register_timeout


# mutmut's exit code for a mutant it did not run ("skipped")
SKIPPED = 34


def reviewed_equivalents_not_rerun(collect: Any) -> Any:
    """mutmut's list of mutants to test, less those tests/mutation/equivalent.md lists with the
    fingerprint of their diff: each was run, survived and was read, and its entry says why no
    test can tell it from the original (or that it changes only a message's prose). Running its
    every test again (all of them: nothing fails) is most of a run's time spent on mutants that
    are not killed. Such a mutant is recorded as skipped; the score counts it as equivalent (or
    prose) as before, and when the code under it changes, its fingerprint no longer matches and
    it is run again. SPOKE_MUTATION_RERUN_EQUIVALENT=1 (`./spoke mutate --recheck-equivalent`)
    runs them all."""
    import os

    def collect_skipping_reviewed(*, mutant_names: Any) -> Any:
        mutants, by_path = collect(mutant_names=mutant_names)
        if os.environ.get("SPOKE_MUTATION_RERUN_EQUIVALENT") == "1":
            return mutants, by_path
        from mutmut.stats import status_by_exit_code

        from stack.mutate import DETECTED, diff_of, equivalent_mutants, fingerprint

        listed = equivalent_mutants()
        kept, changed = [], {}
        for data, name, result in mutants:
            entry = listed.get(name)
            # not run yet, or survived before (`--remaining` names it again): the review stands
            if (status_by_exit_code[result] not in DETECTED and entry
                    and entry[0] == fingerprint(diff_of(name))):
                data.exit_code_by_key[name] = SKIPPED
                changed[id(data)] = data
                continue
            if result == SKIPPED:  # listed once, changed since: run it like any other
                data.exit_code_by_key[name] = None
                changed[id(data)] = data
                result = None
            kept.append((data, name, result))
        for data in changed.values():
            data.save()
        print(f"    {len(mutants) - len(kept)} mutants reviewed as equivalent (tests/mutation/equivalent.md) "
              "are not run again")
        return kept, by_path

    return collect_skipping_reviewed


def main() -> None:
    import mutmut.__main__ as mutmut_main

    cache_distributions()
    wall_limit_from_cpu_limit()
    mutmut_main.collect_source_file_mutation_data = reviewed_equivalents_not_rerun(
        mutmut_main.collect_source_file_mutation_data)

    full_stats_passed = False
    run_stats_collection = mutmut_main.run_stats_collection
    get_mutant_runner = mutmut_main.get_mutant_runner

    def stats_then_note(runner: Any, tests: Iterable[str] | None = None) -> Any:
        nonlocal full_stats_passed
        result = run_stats_collection(runner, tests)  # exits the process unless every test passed
        full_stats_passed = not tests
        return result

    def runner_without_repeat(max_children: int) -> Any:
        runner = get_mutant_runner(max_children)
        clean_run = runner.run_clean_tests
        with_fixture_allowance(runner)
        with_durations(runner)

        def run_clean_tests(tests: Iterable[str]) -> int:
            if full_stats_passed:
                print("    clean run skipped: the stats run just passed every test of the selection")
                return 0
            return int(clean_run(tests))

        runner.run_clean_tests = run_clean_tests
        return runner

    mutmut_main.run_stats_collection = stats_then_note
    mutmut_main.get_mutant_runner = runner_without_repeat
    sys.argv = ["mutmut", "run", *sys.argv[1:]]
    mutmut_main.cli()


if __name__ == "__main__":
    del sys.path[0]  # this script's directory (stack/): nothing is imported from it
    main()
