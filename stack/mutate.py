"""`./spoke mutate`: mutation testing of the money and security rules (mutmut 3).

The scope and the tests are configured in pyproject.toml ([tool.mutmut]); tests/mutation/README.md
explains the setup, and tests/mutation/equivalent.md lists the surviving mutants judged
equivalent, each with its reason. Like `./spoke test`, it runs against real PostgreSQL and Redis
(embedded ones unless DATABASE_URL / REDIS_URL are set). mutmut works in ./mutants (a copy of the
tree with every mutant compiled in) and keeps its results there, so a second run only tests what
changed; `--fresh` starts over, `--remaining` tests only the mutants not killed yet (the ones
not run, and the survivors again after tests were added).

    ./spoke mutate [--fresh | --remaining] [--recheck-equivalent] [--max-children N] [MUTANT_GLOB ...]
                                                                        e.g. 'hub.core.*'

It prints the score per module and in total, writes it with the run's wall time and load to
tests/mutation/score.md, and exits non-zero below the target.

A surviving mutant counts as equivalent only when equivalent.md names it, with its reason and
the fingerprint of its diff (`- `name` [fingerprint]: reason`): when the code changes and the
name comes to mean another edit, the entry no longer matches and the mutant counts as a
survivor again. `--review-messages` appends the survivors that change nothing but the prose of
an error message (the `message` beside the stable `code`, docs/protocol.md "Errors") to
equivalent.md for review; nothing is excluded without a line there. A listed mutant whose diff
still matches its entry is not run again (its tests would all pass once more, at the cost of all
of them); `--recheck-equivalent` runs them too.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from stack.procs import become_subreaper
from stack.testrun import ROOT, test_servers

TARGET = 0.90
MUTANTS = ROOT / "mutants"
EQUIVALENT_FILE = ROOT / "tests" / "mutation" / "equivalent.md"
SCORE_FILE = ROOT / "tests" / "mutation" / "score.md"
# `mutmut run`, without a clean run that would repeat the stats run's verdict (stack/mutmut_run.py)
MUTMUT_RUN = Path(__file__).with_name("mutmut_run.py")
# mutmut's statuses that count as detected: a test failed, or the mutant made the tests hang
DETECTED = {"killed", "timeout"}
EQUIVALENT_LINE = re.compile(r"^- `(?P<name>[^`]+)` \[(?P<fingerprint>[0-9a-f]{10})\]: (?P<reason>.+)$")
MESSAGE_REASON = ("message prose only: the stable `code` beside it is the contract "
                  "(docs/protocol.md, Errors) and is judged by its own mutants")
# every string literal (plain or f-string), scanned left to right from its opening quote; the
# ones whose text has a space are prose for a person, not a code, a key or a field name (a scan
# for "a literal with a space" alone would take the `", "` between two literals for one)
LITERAL = re.compile(r"""(?:\b[rRbBuUfF]{1,2})?("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")


def _prose_to_placeholder(text: str) -> str:
    return LITERAL.sub(lambda m: "MSG" if re.search(r"\s", m[1]) else m[0], text)


def equivalent_mutants() -> dict[str, tuple[str, str]]:
    """Mutants listed in tests/mutation/equivalent.md: name -> (fingerprint, reason)."""
    if not EQUIVALENT_FILE.exists():
        return {}
    found = {}
    for line in EQUIVALENT_FILE.read_text().splitlines():
        if m := EQUIVALENT_LINE.match(line):
            found[m["name"]] = (m["fingerprint"], m["reason"])
    return found


def fingerprint(diff: list[str]) -> str:
    """What the mutant changes (its -/+ lines, stripped), independent of line numbers."""
    changed = [line[0] + line[1:].strip() for line in diff
               if line[:1] in "-+" and not line.startswith(("---", "+++"))]
    return hashlib.sha256("\n".join(changed).encode()).hexdigest()[:10]


def module_of(mutant: str) -> str:
    """`hub.core.state.x_foo__mutmut_3` -> `hub.core.state`."""
    return mutant.rsplit(".", 1)[0]


def diff_of(mutant: str) -> list[str]:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    path = Path(*module_of(mutant).split(".")).with_suffix(".py")
    return get_diff_for_mutant(mutant, path=path).splitlines()


def only_changes_a_message(diff: list[str]) -> bool:
    """True when the mutant changes nothing but the human-readable text of a message: with every
    prose literal replaced by a placeholder, the lines are the same, or the mutant put `None`
    where a prose literal was. Codes, field names and keys have no space and are never covered.
    Only a proposal for review (--review-messages): the score counts what equivalent.md lists."""
    removed = " ".join(line[1:].strip() for line in diff if line.startswith("-") and not line.startswith("---"))
    added = " ".join(line[1:].strip() for line in diff if line.startswith("+") and not line.startswith("+++"))
    if not removed or not added:
        return False
    before, after = _prose_to_placeholder(removed), _prose_to_placeholder(added)
    if before == after:
        return True
    return any(before[:m.start()] + "None" + before[m.end():] == after
               for m in re.finditer("MSG", before))


def results() -> dict[str, str]:
    from mutmut.__main__ import walk_mutatable_files
    from mutmut.mutation.data import SourceFileMutationData
    from mutmut.stats import status_by_exit_code

    found = {}
    for path in walk_mutatable_files():
        data = SourceFileMutationData(path=path)
        data.load()
        for name, code in data.exit_code_by_key.items():
            found[name] = status_by_exit_code[code]
    return found


def score(globs: list[str], *, show: bool = False, record: str = "") -> bool:
    equivalent = equivalent_mutants()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    stale: list[str] = []
    for name, status in sorted(results().items()):
        if globs and not any(fnmatch.fnmatch(name, g) for g in globs):
            continue
        if status == "not checked":
            counts[module_of(name)]["not checked"] += 1
            continue
        if status not in DETECTED:
            listed = equivalent.get(name)
            if listed and listed[0] == fingerprint(diff_of(name)):
                status = "prose" if listed[1].startswith("message prose only") else "equivalent"
            else:
                if listed:
                    stale.append(name)
                survivors.append(f"  not killed: {name}: {status}")
                if show:
                    survivors.extend("      " + line for line in diff_of(name)[2:])
        counts[module_of(name)][status] += 1
    total: Counter[str] = Counter()
    lines = [f"{'module':34} {'mutants':>7} {'killed':>7} {'surv.':>6} {'no test':>7} "
             f"{'equiv.':>6} {'prose':>5} {'unrun':>6} {'score':>7}"]
    for module in sorted(counts):
        total.update(counts[module])
        lines.append(row(module, counts[module]))
    lines.append(row("TOTAL", total))
    ratio = detected_ratio(total)
    summary = (f"mutation score {ratio:.1%} = (killed + timeout) / (tested - equivalent - prose); "
               f"target {TARGET:.0%}. equiv. and prose: the reviewed entries of "
               f"tests/mutation/equivalent.md (prose: the mutant changes only an error message's "
               f"prose)")
    print("\n" + "\n".join(lines))
    for survivor in survivors:
        print(survivor)
    for name in stale:
        print(f"  equivalent.md entry no longer matches the mutant (code changed): {name}")
    print(f"\n{summary}")
    if total["not checked"]:
        print(f"{total['not checked']} mutants not run yet: the score covers the others only")
    if record:
        SCORE_FILE.write_text(
            "# Mutation score (written by `./spoke mutate`)\n\n"
            f"{record}\n\n```\n" + "\n".join(lines) + f"\n```\n\n{summary}\n"
            + (f"\n{total['not checked']} mutants not run yet: the score covers the others only.\n"
               if total["not checked"] else ""))
        print(f"written to {SCORE_FILE.relative_to(ROOT)}")
    return ratio >= TARGET and not total["not checked"]


def review_messages(globs: list[str]) -> int:
    """Append the survivors that change only a message's prose to equivalent.md (for review)."""
    equivalent = equivalent_mutants()
    status = results()
    added = []
    for name in sorted(not_killed(globs)):
        if status[name] == "not checked":
            continue
        diff = diff_of(name)
        if name not in equivalent and only_changes_a_message(diff):
            added.append(f"- `{name}` [{fingerprint(diff)}]: {MESSAGE_REASON}")
    if added:
        with EQUIVALENT_FILE.open("a") as f:
            f.write("\n".join(added) + "\n")
    print(f"{len(added)} message-only survivors appended to {EQUIVALENT_FILE.relative_to(ROOT)}")
    return len(added)


def detected_ratio(c: Counter[str]) -> float:
    judged = sum(c.values()) - c["equivalent"] - c["prose"] - c["not checked"]
    return sum(c[s] for s in DETECTED) / judged if judged else 0.0


def row(name: str, c: Counter[str]) -> str:
    detected = sum(c[s] for s in DETECTED)
    judged = sum(c.values()) - c["equivalent"] - c["prose"] - c["not checked"]
    ratio = f"{detected_ratio(c):.1%}" if judged else "-"
    return (f"{name:34} {sum(c.values()):7} {detected:7} {c['survived']:6} {c['no tests']:7} "
            f"{c['equivalent']:6} {c['prose']:5} {c['not checked']:6} {ratio:>7}")


def not_killed(globs: Iterable[str]) -> list[str]:
    return [name for name, status in results().items() if status not in DETECTED
            and (not globs or any(fnmatch.fnmatch(name, g) for g in globs))]


def pytest_plugins() -> list[str]:
    """The modules of every installed pytest plugin, all of them in the order autoloading loads them
    (leaving one out changes more than it seems: schemathesis's, for one, relaxes a Hypothesis
    health check that a golden-vector test relies on)."""
    from importlib.metadata import entry_points

    return list(dict.fromkeys(entry.value.split(":")[0] for entry in entry_points(group="pytest11")))


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument("--remaining", action="store_true", help="test only the mutants not killed yet")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--score-only", action="store_true", help="print the score of the last run")
    parser.add_argument("--show", action="store_true", help="print the diff of each mutant not killed")
    parser.add_argument("--review-messages", action="store_true",
                        help="append the message-only survivors to equivalent.md for review")
    parser.add_argument("--recheck-equivalent", action="store_true",
                        help="run the mutants equivalent.md lists too (by default their reviewed "
                             "verdict stands while their diff is unchanged: stack/mutmut_run.py)")
    parser.add_argument("--note", default="", help="a sentence to add to score.md (e.g. the load seen)")
    parser.add_argument("globs", nargs="*", help="mutant names or globs (default: the whole scope)")
    options = parser.parse_args()
    os.chdir(ROOT)  # mutmut reads pyproject.toml and ./mutants from the working directory
    if options.review_messages:
        review_messages(options.globs)
        return
    become_subreaper()
    if options.fresh:
        shutil.rmtree(MUTANTS, ignore_errors=True)
    MUTANTS.mkdir(exist_ok=True)
    # anvil is found next to the code (stack/embedded.py): the copy must see node_modules too
    link = MUTANTS / "node_modules"
    if not link.exists():
        link.symlink_to(ROOT / "node_modules")
    names = list(options.globs)
    if options.remaining:
        names = not_killed(options.globs)
        print(f"testing the {len(names)} mutants not killed so far", flush=True)
        if not names:
            raise SystemExit(0 if score(options.globs, show=options.show) else 1)
    record = (f"Scored from the results kept in ./mutants at "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} (`--score-only`).")
    if not options.score_only:
        started, load_before, cpu_before = time.monotonic(), load(), os.times()
        # a mutant's run commits, truncates and clones databases: PostgreSQL waiting for the disk
        # at each one was most of a database mutant's wall time (its data is thrown away anyway)
        with test_servers(fsync=False) as env, tempfile.TemporaryDirectory(prefix="spoke-mutate-") as work:
            # the contracts are deployed once per run, then loaded into each mutant's own anvil
            env["SPOKE_TEST_CHAIN_CACHE"] = str(Path(work) / "chain.json")
            # the children's database slots (tests/mutation/plugin.py): markers of this run only
            env["SPOKE_MUTATION_SLOTS"] = str(Path(work) / "db-slots")
            # every mutant's run starts pytest afresh: name the installed plugins instead of
            # having each run scan every installed package's entry points for them
            env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
            env["PYTEST_ADDOPTS"] = " ".join(f"-p {plugin}" for plugin in pytest_plugins())
            if options.recheck_equivalent:
                env["SPOKE_MUTATION_RERUN_EQUIVALENT"] = "1"
            run = subprocess.run([sys.executable, str(MUTMUT_RUN),  # noqa: S603
                                  "--max-children", str(options.max_children), *names],
                                 cwd=ROOT, env=env, check=False)
        if run.returncode:
            raise SystemExit(run.returncode)
        minutes = (time.monotonic() - started) / 60
        # CPU time of every process of the run (mutmut, its children, PostgreSQL, Valkey, anvil):
        # what the run costs apart from the machine's other load, which stretches its wall time
        cpu_after = os.times()
        cpu_minutes = (cpu_after.children_user - cpu_before.children_user
                       + cpu_after.children_system - cpu_before.children_system) / 60
        what = " ".join(options.globs) or "the whole scope"
        how = " (only the mutants not killed before)" if options.remaining else ""
        if not options.recheck_equivalent:
            how += " (the mutants equivalent.md lists not run again)"
        record = (f"Last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
                  f"`{what}`{how}, {options.max_children} children, {minutes:.1f} min wall time "
                  f"on {os.cpu_count()} cores, {cpu_minutes:.1f} CPU-minutes; load average "
                  f"(1/5/15 min) {load_before} before, {load()} after.")
    if options.note:
        record += f"\n\n{options.note}"
    raise SystemExit(0 if score(options.globs, show=options.show, record=record) else 1)


if __name__ == "__main__":
    main()
