"""The repository's documentation stands on its own and stays true to the code.

- No tracked file sends the reader outside the repository (a sibling `shared/` folder that a
  person who clones the repository does not have), nor cites a document by a name that no file
  in the repository has (`PROTOCOL.md §4` where docs/protocol.md is meant).
- Every relative link in the Markdown documents points at a file that exists, and every
  repository path the documents name (`hub/core/`, `config/settings.py`, ...) exists.
- Every environment variable the code reads is described in docs/configuration.md."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Built from pieces so that this file does not match itself.
OUTSIDE = re.compile(re.escape("..") + r"/+" + "shared" + r"/")
CODE_DIRS = ("config", "hub", "payments", "linkpay", "ops", "stack", "manage.py")
ENV_READS = (
    # config/env.py's typed readers, os.environ and the conf modules' helpers
    r"env\.(?:string|boolean|integer|strings|url|address|path|optional|raw)\(\s*\"([A-Z][A-Z0-9_]*)\"",
    r"os\.environ(?:\.get|\.setdefault|\.pop)?[\(\[]\s*\"([A-Z][A-Z0-9_]*)\"",
    r"getenv\(\s*\"([A-Z][A-Z0-9_]*)\"",
    r"\b_(?:int|float|bool|str)\(\s*\"([A-Z][A-Z0-9_]*)\"",
    r"\"(SPOKE_[A-Z0-9_]+)\"",
)


def tracked_files(*paths: str) -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z", "--", *paths], cwd=ROOT, check=True,
                         capture_output=True).stdout
    return [ROOT / name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # binary files say nothing to a reader


def test_no_tracked_file_points_outside_the_repository() -> None:
    offenders = []
    for path in tracked_files():
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "link to docs/ instead:\n" + "\n".join(offenders)


# Names of the design notes the project started from, which are not part of the repository.
# contracts/*.sol is left alone: its comments are compiled into the committed artifacts'
# metadata, so editing one changes the bytecode.
OUTSIDE_DOCUMENTS = re.compile(
    r"\b(PROTOCOL|DESIGN|STYLE|connext-v1|threats|performance|merchant-platforms|toolchain|"
    r"checkout-and-card)\.md\b")


def test_no_tracked_file_cites_a_document_the_repository_lacks() -> None:
    names = {path.name for path in tracked_files()}
    offenders = []
    for path in tracked_files():
        if path.suffix == ".sol" or path == Path(__file__):
            continue
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for match in OUTSIDE_DOCUMENTS.finditer(line):
                if match.group(0) not in names:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "cite docs/ instead:\n" + "\n".join(offenders)


def test_relative_links_in_markdown_resolve() -> None:
    broken = []
    for path in tracked_files("*.md"):
        text = text_of(path) or ""
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
                continue  # a URL, an anchor on the same page or a site path
            if not (path.parent / target.split("#", 1)[0]).exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, "\n".join(broken)


def test_paths_named_in_the_documents_exist() -> None:
    """A path in backticks that starts with a top-level folder of the repository must exist
    (after a file moves, the documents that name it follow)."""
    tops = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".")}
    missing = []
    for path in tracked_files("*.md"):
        text = text_of(path) or ""
        for named in re.findall(r"`([A-Za-z0-9_.-]+/[A-Za-z0-9_./-]*)`", text):
            if named.split("/", 1)[0] in tops and not (ROOT / named).exists():
                missing.append(f"{path.relative_to(ROOT)}: {named}")
    assert not missing, "\n".join(missing)


def test_every_environment_variable_is_documented() -> None:
    read: dict[str, set[str]] = {}
    for path in tracked_files(*CODE_DIRS):
        if path.suffix != ".py" or "migrations" in path.parts:
            continue
        text = text_of(path) or ""
        for pattern in ENV_READS:
            for name in re.findall(pattern, text):
                read.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert "DATABASE_URL" in read and "SPOKE_LINK_GUESS_LIMIT" in read  # the scan sees the code

    documented = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", (ROOT / "docs" / "configuration.md").read_text()))
    missing = {name: sorted(where) for name, where in read.items() if name not in documented}
    assert not missing, f"describe these in docs/configuration.md: {missing}"
