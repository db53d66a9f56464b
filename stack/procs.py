"""Running and reaping child processes for the launchers."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """For `preexec_fn`: the child is killed (SIGKILL) when the thread that started it exits,
    however that happens (a test process killed at a timeout, a crashed benchmark): nothing is
    left running for nobody. Start such a child from a thread that lives as long as its user."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)


def become_subreaper() -> None:
    """Adopt orphaned grandchildren (e.g. a worker's forked processes) so we can reap them:
    this sandbox's PID 1 does not, and a dead orphan would linger as a zombie."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def kill_group(pgid: int) -> None:
    """SIGKILL whatever is left of a dead leader's process group (forked workers, backends)."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    reap_orphans()


# Children whose exit status a Popen object will collect: reap_orphans must leave them alone, or
# Popen.poll() finds nothing to wait for and reports status 0 for a process that was killed.
OWNED: set[int] = set()


def reap_orphans() -> None:
    """Reap dead processes that were re-parented to us (we are a subreaper), but none of ours."""
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) in OWNED:
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] == "Z" and int(fields[1]) == me:
            try:
                os.waitpid(int(entry.name), os.WNOHANG)
            except ChildProcessError:
                pass


class Service:
    """One long-running child (web, worker, scheduler) in its own process group."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], log_dir: Path | None,
                 cwd: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.log_dir = log_dir
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Service:
        out = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out = open(self.log_dir / f"{self.name}.log", "ab")
        self.proc = subprocess.Popen(  # noqa: S603 - our own argv
            self.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT if out else None, start_new_session=True,
        )
        OWNED.add(self.proc.pid)
        if out is not None:
            out.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    # --- the supervisor's view (stack.supervise.Unit) ---
    def returncode(self) -> int | None:
        return -1 if self.proc is None else self.proc.poll()

    def current_pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def restart(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.stop()
            OWNED.discard(self.proc.pid)
            kill_group(self.proc.pid)
        self.start()

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid
        if self.proc.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left of the group (forked workers) goes too.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
            reap_orphans()
        else:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        reap_orphans()
