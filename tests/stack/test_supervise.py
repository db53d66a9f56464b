"""The launcher's supervisor, on real child processes: a killed child is started again, a
crash loop backs off to the cap instead of spinning, and a child that stayed up long enough starts
again from the base delay. The clock is ours, so the delays are checked exactly."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.procs import Service, reap_orphans
from stack.supervise import Backoff, Death, Restarted, Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_until(condition: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    pytest.fail("condition not met in time")


@pytest.fixture
def services() -> Iterator[list[Service]]:
    started: list[Service] = []
    yield started
    for service in started:
        service.stop(timeout=5)


def make(services: list[Service], tmp_path: Path, name: str, code: str) -> Service:
    service = Service(name, [sys.executable, "-c", code], dict(os.environ), tmp_path, tmp_path)
    services.append(service.start())
    return service


def test_a_killed_child_is_started_again_and_reported(tmp_path: Path, services: list[Service]) -> None:
    clock = Clock()
    deaths: list[Death] = []
    restarts: list[Restarted] = []
    sup = Supervisor(Backoff(base=0.5, cap=30), on_death=deaths.append, on_restart=restarts.append,
                     clock=clock)
    web = make(services, tmp_path, "web", "import time; time.sleep(120)")
    sup.watch(web)
    first_pid = web.pid
    sup.poll()
    assert deaths == []

    os.kill(first_pid, signal.SIGKILL)
    wait_until(lambda: web.returncode() is not None)
    sup.poll()
    assert [(d.name, d.pid, d.how, d.delay) for d in deaths] == [
        ("web", first_pid, "was killed by SIGKILL", 0.5)]

    clock.now += 0.4  # not yet: the delay is 0.5 s
    sup.poll()
    assert restarts == [] and web.returncode() == -signal.SIGKILL

    clock.now += 0.1
    sup.poll()
    assert len(restarts) == 1 and restarts[0].pid == web.pid != first_pid
    assert web.returncode() is None  # running again
    assert len(deaths) == 1


def test_a_crash_loop_backs_off_to_the_cap(tmp_path: Path, services: list[Service]) -> None:
    clock = Clock()
    deaths: list[Death] = []
    sup = Supervisor(Backoff(base=0.5, cap=4, stable_after=60), on_death=deaths.append, clock=clock)
    broken = make(services, tmp_path, "worker", "raise SystemExit(3)")
    sup.watch(broken)
    for _ in range(7):
        wait_until(lambda: broken.returncode() is not None)
        sup.poll()  # the death
        clock.now += deaths[-1].delay
        sup.poll()  # the restart, exactly when due
        clock.now += 1  # it "ran" for a second before dying again
    assert [d.delay for d in deaths] == [0.5, 1, 2, 4, 4, 4, 4]
    assert [d.deaths_in_a_row for d in deaths] == [1, 2, 3, 4, 5, 6, 7]
    assert {d.how for d in deaths} == {"exited with status 3"}


def test_a_child_that_stayed_up_starts_again_from_the_base_delay(
    tmp_path: Path, services: list[Service]
) -> None:
    clock = Clock()
    deaths: list[Death] = []
    sup = Supervisor(Backoff(base=0.5, cap=30, stable_after=60), on_death=deaths.append, clock=clock)
    svc = make(services, tmp_path, "scheduler", "import time; time.sleep(120)")
    sup.watch(svc)
    for gap in (1, 1, 61):
        os.kill(svc.pid, signal.SIGKILL)
        wait_until(lambda: svc.returncode() is not None)
        sup.poll()
        clock.now += deaths[-1].delay
        sup.poll()
        assert svc.returncode() is None
        clock.now += gap
    os.kill(svc.pid, signal.SIGKILL)
    wait_until(lambda: svc.returncode() is not None)
    sup.poll()
    assert [d.delay for d in deaths] == [0.5, 1, 2, 0.5]


def test_a_start_that_fails_counts_as_a_death_in_a_row(tmp_path: Path, services: list[Service]) -> None:
    clock = Clock()
    deaths: list[Death] = []
    sup = Supervisor(Backoff(base=0.5, cap=30, stable_after=60), on_death=deaths.append, clock=clock)
    svc = make(services, tmp_path, "web", "import time; time.sleep(120)")
    sup.watch(svc)
    clock.now += 120  # long stable run
    os.kill(svc.pid, signal.SIGKILL)
    wait_until(lambda: svc.returncode() is not None)
    sup.poll()
    svc.argv = [str(tmp_path / "missing-binary")]
    for _ in range(3):
        clock.now += deaths[-1].delay
        sup.poll()
    assert [d.delay for d in deaths] == [0.5, 1, 2, 4]
    assert deaths[-1].how.startswith("failed to start (FileNotFoundError")


def test_reaping_orphans_leaves_the_exit_status_of_our_own_children(
    tmp_path: Path, services: list[Service]
) -> None:
    # The launcher reaps re-parented orphans every half second; if that took our own child's
    # status, Popen would report "exited with status 0" for a process that was killed.
    svc = make(services, tmp_path, "web", "import time; time.sleep(120)")
    os.kill(svc.pid, signal.SIGKILL)
    wait_until(lambda: Path(f"/proc/{svc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z")
    reap_orphans()
    assert svc.returncode() == -signal.SIGKILL


def test_postgres_is_restarted_on_its_port_but_never_recreated_empty(workdir: Path) -> None:
    from stack.embedded import EmbeddedPostgres, ServerError

    # not pytest's tmp_path: see tests/stack/conftest.py
    pg = EmbeddedPostgres(workdir / "pg", fsync=False).start()
    try:
        port, first = pg.port, pg.current_pid()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: pg.returncode() is not None)
        pg.restart()  # crash recovery from the WAL, same port for the processes that use it
        assert pg.port == port and pg.current_pid() not in (None, first) and pg.returncode() is None
        pg.stop()
        shutil.rmtree(pg.pgdata)
        with pytest.raises(ServerError, match="is gone"):
            pg.restart()
        assert not pg.pgdata.exists()
    finally:
        pg.stop()
