"""The README's first command, for real: in a fresh copy of the repository, `./spoke up` installs
what it needs, starts every part on embedded defaults, becomes healthy, and on SIGTERM leaves no
process behind. A second run reuses the data."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from stack.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
# Two runs, each at most START_DEADLINE + 30 s (banner) + 90 s (stop): below pytest's timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]
START_DEADLINE = 600.0  # the first run creates .venv and node_modules in the fresh copy


def fresh_copy(dest: Path) -> Path:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
        capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if not src.exists():
            continue  # deleted in the work tree
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def health(port: int) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, {}


def run_once(repo: Path, log: Path) -> tuple[float, dict[str, object]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "ETH_RPC_URL", "DJANGO_SETTINGS_MODULE",
                        "DEBUG", "DRAMATIQ_STUB", "SPOKE_NO_DEVDATA", "SPOKE_DEVDATA",
                        "DB_POOL_SIZE", "DB_CONN_MAX_AGE",
                        "VIRTUAL_ENV", "PYTHONPATH"}}
    env.update({"PORT": str(port), "WORKER_HEARTBEAT_SECONDS": "2"})
    runs_before = log.read_text().count("HTTP fast path") if log.exists() else 0
    started = time.monotonic()
    with open(log, "ab") as out:
        proc = subprocess.Popen(["./spoke", "up"], cwd=repo, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    seen: set[int] = set()
    try:
        report: dict[str, object] = {}
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-4000:]
            seen |= descendants(proc.pid)
            status, report = health(port)
            if status == 200:
                break
            time.sleep(1)
        else:
            pytest.fail(f"/healthz never returned 200: {report}\n{log.read_text()[-4000:]}")
        elapsed = time.monotonic() - started
        seen |= descendants(proc.pid)
        assert len(seen) >= 7  # postgres, valkey, anvil, web, http, worker, scheduler at least
        # the WSGI fast path serves the same application
        fast: list[str] = []
        for _ in range(30):  # the banner follows the servers' start; the log holds every run
            fast = re.findall(r"HTTP fast path +http://127\.0\.0\.1:(\d+)/", log.read_text())
            if len(fast) > runs_before:
                break
            time.sleep(1)
        assert len(fast) > runs_before, log.read_text()[-4000:]
        # granian may still be binding when the banner is printed: wait for it, bounded
        fast_deadline = time.monotonic() + 60
        while health(int(fast[-1]))[0] != 200 and time.monotonic() < fast_deadline:
            time.sleep(1)
        assert health(int(fast[-1]))[0] == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, log.read_text()[-4000:]
    left = sorted(pid for pid in seen if running(pid))
    assert left == [], f"processes left running after SIGTERM: {left}"
    return elapsed, report


def test_start_command_comes_up_healthy_and_stops_cleanly_twice(workdir: Path) -> None:
    # not tmp_path: the copy's embedded PostgreSQL lives in it (tests/stack/conftest.py)
    repo = fresh_copy(workdir / "spoke")
    log = workdir / "spoke-up.log"
    first, report = run_once(repo, log)
    creds = json.loads((repo / ".devdata" / "credentials.json").read_text())
    contracts = json.loads((repo / ".devdata" / "contracts.json").read_text())
    assert report["status"] == "ok"

    second, _ = run_once(repo, log)
    assert json.loads((repo / ".devdata" / "credentials.json").read_text()) == creds
    assert json.loads((repo / ".devdata" / "contracts.json").read_text()) == contracts
    print(f"start command: first run healthy after {first:.1f} s, second after {second:.1f} s")
