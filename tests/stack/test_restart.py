"""`./spoke up` keeps the platform up: each of its processes is killed with SIGKILL in turn, and
the launcher starts it again; the platform answers /healthz (200) again within seconds, the death
is in the launcher's log and an operator alarm is recorded. SIGTERM still stops everything."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from stack.ports import free_port
from tests.stack.test_start_command import descendants, health, running

ROOT = Path(__file__).resolve().parents[2]
# The deadlines add up to less than pytest's timeout: 600 + 7 x 120 + 60 (alarms) + 120 (stop).
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]
START_DEADLINE = 600.0  # first start: migrations, contracts, demo data on a busy 2-core machine
RECOVERY_DEADLINE = 120.0  # per killed process: usually seconds; Django's start-up under load
ALARM_DEADLINE = 60.0


def read_tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else f"({path} is missing)"


def wait_for(what: str, condition: Callable[[], object], deadline: float, log: Path) -> None:
    """Poll `condition` until the monotonic `deadline`."""
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    logs = "".join(f"\n--- {path.name}\n{path.read_text(errors='replace')[-1500:]}"
                   for path in sorted((log.parent / "devdata" / "logs").glob("*.log")))
    pytest.fail(f"{what}: not in time\n{log.read_text()[-4000:]}{logs}")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def children(pid: int) -> dict[int, str]:
    """The launcher's children that lead their own process group: the services themselves, not
    the orphans of a killed one (a granian or dramatiq worker) before they are cleared away."""
    found = {}
    for child in descendants(pid):
        try:
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and int(fields[2]) == child and running(child):
            found[child] = cmdline(child)
    return found


SERVICES = {  # name in the launcher -> how its process's command line reads
    "web": r"/daphne ",
    "http": r"granian|config\.web",  # granian names its process once it serves (setproctitle)
    "worker": r"dramatiq",
    "scheduler": r"manage\.py crontab",  # the worker's command line names dramatiq_crontab
    "valkey": r"valkey-server",
    "postgres": r"/postgres -D",
    "anvil": r"/anvil ",
}


def service_pid(launcher: int, name: str) -> int | None:
    matches = [pid for pid, line in children(launcher).items() if re.search(SERVICES[name], line)]
    assert len(matches) <= 1, (name, matches)
    return matches[0] if matches else None


def beat_after(report: dict[str, object], moment: float) -> bool:
    worker = report.get("worker")
    if not isinstance(worker, dict) or not worker.get("last_beat"):
        return False
    return datetime.fromisoformat(str(worker["last_beat"])).timestamp() > moment


def test_every_process_killed_in_turn_is_restarted_and_the_platform_answers_again(
    workdir: Path,  # not tmp_path: see tests/stack/conftest.py
) -> None:
    tmp_path = workdir
    port = free_port()
    devdata = tmp_path / "devdata"
    log = tmp_path / "spoke-up.log"
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "ETH_RPC_URL", "DJANGO_SETTINGS_MODULE",
                        "DEBUG", "DRAMATIQ_STUB", "SPOKE_NO_DEVDATA", "DB_POOL_SIZE",
                        "DB_CONN_MAX_AGE", "VIRTUAL_ENV", "PYTHONPATH"}}
    env.update({"PORT": str(port), "SPOKE_DEVDATA": str(devdata), "WORKER_HEARTBEAT_SECONDS": "2",
                "WORKER_HEARTBEAT_STALE_SECONDS": "30"})
    with open(log, "ab") as out:
        proc = subprocess.Popen(["./spoke", "up"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    seen: set[int] = set()

    def healthy_after(moment: float) -> bool:
        assert proc.poll() is None, log.read_text()[-4000:]
        seen.update(descendants(proc.pid))
        status, report = health(port)
        return status == 200 and beat_after(report, moment)

    recovered: dict[str, float] = {}
    try:
        wait_for("/healthz 200 after start", lambda: healthy_after(0),
                 time.monotonic() + START_DEADLINE, log)
        # the banner follows the servers' start: granian listens once a worker has loaded Django,
        # which may be after daphne already answers /healthz
        banner = r"HTTP fast path +http://127\.0\.0\.1:(\d+)/"
        wait_for("the banner", lambda: re.search(banner, log.read_text()),
                 time.monotonic() + START_DEADLINE, log)
        fast_port = int(re.findall(banner, log.read_text())[-1])
        for name in ("web", "http", "worker", "scheduler", "valkey", "postgres", "anvil"):
            pid = service_pid(proc.pid, name)
            assert pid is not None, (name, children(proc.pid))
            killed_at = time.time()
            started = time.monotonic()
            deadline = started + RECOVERY_DEADLINE
            os.kill(pid, signal.SIGKILL)
            wait_for(f"{name} started again",
                     lambda name=name, pid=pid: service_pid(proc.pid, name) not in (None, pid),
                     deadline, log)
            # A heartbeat written after the kill has travelled scheduler -> Valkey -> worker ->
            # PostgreSQL: every part is working again, not only the web server.
            wait_for(f"/healthz 200 after killing {name}", lambda killed_at=killed_at: healthy_after(killed_at),
                     deadline, log)
            wait_for(f"the HTTP fast path answers after killing {name}",
                     lambda: health(fast_port)[0] == 200, deadline, log)
            recovered[name] = time.monotonic() - started
            assert re.search(rf"spoke: {name} \(pid {pid}\) was killed by SIGKILL; restarting in",
                             log.read_text()), log.read_text()[-4000:]

        url = next(line.split("=", 1)[1] for line in (devdata / "stack.env").read_text().splitlines()
                   if line.startswith("DATABASE_URL="))

        def alarms() -> dict[str, tuple[str, int]]:
            with psycopg.connect(url) as conn:
                rows = conn.execute("SELECT key, severity, occurrences FROM ops_alarm "
                                    "WHERE kind = 'process_restarted'").fetchall()
            return {key: (severity, occurrences) for key, severity, occurrences in rows}

        wait_for("an alarm for every restart", lambda: set(alarms()) == set(SERVICES),
                 time.monotonic() + ALARM_DEADLINE, log)
        found = alarms()
        assert {key: severity for key, (severity, _) in found.items()} == {
            "web": "warning", "http": "warning", "worker": "warning", "scheduler": "warning",
            "valkey": "critical", "postgres": "critical", "anvil": "critical"}
        # each kill restarted its process once: a second restart (a process that died again, or
        # died because another was killed) shows in the launcher's log, quoted here
        restarts = re.findall(r"spoke: (\w+)(?: \(pid \d+\))? ([^;\n]*); restarting in", log.read_text())
        # a string, not a tuple: pytest shortens the repr of a non-string message
        assert all(occurrences == 1 for _, occurrences in found.values()), (
            f"alarms: {found}\nrestarts: {restarts}\nlauncher log:\n{log.read_text()[-6000:]}\n"
            f"scheduler log:\n{read_tail(devdata / 'logs' / 'scheduler.log')}")
    finally:
        seen.update(descendants(proc.pid))
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, log.read_text()[-4000:]
    left = sorted(pid for pid in seen if running(pid))
    assert left == [], f"processes left running after SIGTERM: {left}"
    print("recovered after SIGKILL (s): "
          + ", ".join(f"{name} {seconds:.1f}" for name, seconds in recovered.items()))
