"""`./spoke mutate`: mutation testing of the money and security rules (mutmut 3).

The scope and the tests are configured in pyproject.toml ([tool.mutmut]); tests/mutation/README.md
explains the setup, and tests/mutation/equivalent.md lists the surviving mutants judged
equivalent, each with its reason. Like `./spoke test`, it runs against real PostgreSQL and Redis
(embedded ones unless DATABASE_URL / REDIS_URL are set). mutmut works in ./mutants (a copy of the
tree with every mutant compiled in) and keeps its results there, so a second run only tests what
changed; `--fresh` starts over, `--remaining` tests only the mutants not killed yet (the ones
not run, and the survivors again after tests were added).

    ./spoke mutate [--fresh | --remaining] [--max-children N] [MUTANT_GLOB ...]   e.g. 'hub.core.*'

It prints the score per module and in total, and exits non-zero below the target.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from stack.procs import become_subreaper
from stack.testrun import ROOT, test_servers

TARGET = 0.90
MUTANTS = ROOT / "mutants"
EQUIVALENT_FILE = ROOT / "tests" / "mutation" / "equivalent.md"
MUTMUT = str(Path(sys.executable).parent / "mutmut")
# mutmut's statuses that count as detected: a test failed, or the mutant made the tests hang
DETECTED = {"killed", "timeout"}
EQUIVALENT_LINE = re.compile(r"^- `(?P<name>[^`]+)`")
# a string literal (plain or f-string) whose text has a space: prose for a person, not a code,
# a key or a field name
PROSE = re.compile(r"""(?:\b[rRbBuUfF]{1,2})?("(?:[^"\\]|\\.)*\s(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*\s(?:[^'\\]|\\.)*')""")


def equivalent_mutants() -> dict[str, str]:
    """Mutant names listed in tests/mutation/equivalent.md (`- `name`: reason` lines)."""
    if not EQUIVALENT_FILE.exists():
        return {}
    found = {}
    for line in EQUIVALENT_FILE.read_text().splitlines():
        if m := EQUIVALENT_LINE.match(line):
            found[m["name"]] = line[m.end():].lstrip(": ")
    return found


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
    where a prose literal was. Codes, field names and keys have no space and are never covered."""
    removed = " ".join(line[1:].strip() for line in diff if line.startswith("-") and not line.startswith("---"))
    added = " ".join(line[1:].strip() for line in diff if line.startswith("+") and not line.startswith("+++"))
    if not removed or not added:
        return False
    before, after = PROSE.sub("MSG", removed), PROSE.sub("MSG", added)
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


def score(globs: list[str], *, show: bool = False) -> bool:
    equivalent = equivalent_mutants()
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    survivors: list[str] = []
    for name, status in sorted(results().items()):
        if globs and not any(fnmatch.fnmatch(name, g) for g in globs):
            continue
        if status == "not checked":
            counts[module_of(name)]["not checked"] += 1
            continue
        if status not in DETECTED:
            if name in equivalent:
                status = "equivalent"
            elif only_changes_a_message(diff_of(name)):
                status = "message only"
            else:
                survivors.append(f"{name}: {status}")
                if show:
                    survivors.extend("      " + line for line in diff_of(name)[2:])
        counts[module_of(name)][status] += 1
    total: Counter[str] = Counter()
    print(f"\n{'module':40} {'mutants':>7} {'killed':>7} {'surv.':>6} {'no test':>7} "
          f"{'equiv.':>6} {'msg':>5} {'unrun':>6} {'score':>7}")
    for module in sorted(counts):
        total.update(counts[module])
        print(row(module, counts[module]))
    print(row("TOTAL", total))
    for survivor in survivors:
        print(f"  not killed: {survivor}")
    ratio = detected_ratio(total)
    print(f"\nmutation score {ratio:.1%} = killed / (tested - equivalent - message only); "
          f"target {TARGET:.0%}")
    if total["not checked"]:
        print(f"{total['not checked']} mutants not run yet: the score covers the others only")
    return ratio >= TARGET and not total["not checked"]


def detected_ratio(c: Counter[str]) -> float:
    judged = sum(c.values()) - c["equivalent"] - c["message only"] - c["not checked"]
    return sum(c[s] for s in DETECTED) / judged if judged else 0.0


def row(name: str, c: Counter[str]) -> str:
    detected = sum(c[s] for s in DETECTED)
    judged = sum(c.values()) - c["equivalent"] - c["message only"] - c["not checked"]
    ratio = f"{detected_ratio(c):.1%}" if judged else "-"
    return (f"{name:40} {sum(c.values()):7} {detected:7} {c['survived']:6} {c['no tests']:7} "
            f"{c['equivalent']:6} {c['message only']:5} {c['not checked']:6} {ratio:>7}")


def not_killed(globs: Iterable[str]) -> list[str]:
    return [name for name, status in results().items() if status not in DETECTED
            and (not globs or any(fnmatch.fnmatch(name, g) for g in globs))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="forget earlier results")
    parser.add_argument("--remaining", action="store_true", help="test only the mutants not killed yet")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--score-only", action="store_true", help="print the score of the last run")
    parser.add_argument("--show", action="store_true", help="print the diff of each mutant not killed")
    parser.add_argument("globs", nargs="*", help="mutant names or globs (default: the whole scope)")
    options = parser.parse_args()
    os.chdir(ROOT)  # mutmut reads pyproject.toml and ./mutants from the working directory
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
    if not options.score_only:
        with test_servers() as env:
            run = subprocess.run([MUTMUT, "run", "--max-children", str(options.max_children),  # noqa: S603
                                  *names], cwd=ROOT, env=env, check=False)
        if run.returncode:
            raise SystemExit(run.returncode)
    raise SystemExit(0 if score(options.globs, show=options.show) else 1)


if __name__ == "__main__":
    main()
