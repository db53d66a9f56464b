"""What the hot-path benchmarks share: a private stack (embedded PostgreSQL with fsync on, Valkey,
anvil with the real contracts, each on a random port under a temporary directory), Django set up
in this process against it, and one way to print a figure with its target and verdict.

Every benchmark prints one `figure:` line per target:

    [bench] figure: <name> = <value> <unit> (target <op> <target> <unit>) -> met|missed

and exits non-zero when a behaviour check failed (not when a target was missed: a missed target
is a finding, printed as such)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from stack.embedded import Anvil, EmbeddedPostgres, EmbeddedValkey  # noqa: E402
from stack.procs import Service, become_subreaper  # noqa: E402

PY = sys.executable


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} CPUs"


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: float
    higher_is_better: bool
    detail: str = ""  # conditions and the numbers the figure came from (one line)

    @property
    def met(self) -> bool:
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def line(self) -> str:
        op = ">=" if self.higher_is_better else "<="
        return (f"figure: {self.name} = {self.value:.1f} {self.unit} (target {op} {self.target:g} "
                f"{self.unit}) -> {'met' if self.met else 'missed'}"
                + (f"; {self.detail}" if self.detail else ""))

    @property
    def target_text(self) -> str:
        return f"{'>=' if self.higher_is_better else '<='} {self.target:g} {self.unit}"


@dataclass
class Outcome:
    """What a benchmark found: its figures and its behaviour checks (a failed check fails the run)."""
    figures: list[Figure] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)

    def figure(self, *args: Any, **kwargs: Any) -> Figure:
        fig = Figure(*args, **kwargs)
        self.figures.append(fig)
        log(fig.line())
        return fig

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        self.checks[name] = ok
        log(f"check: {'PASS' if ok else 'FAIL'} {name}{f' ({detail})' if detail else ''}")
        return ok

    @property
    def ok(self) -> bool:
        return all(self.checks.values())

    def exit(self) -> None:
        log(load())
        raise SystemExit(0 if self.ok else 1)


@dataclass
class BenchStack:
    work: Path
    env: dict[str, str]
    servers: list[Any] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    anvil: Anvil | None = None

    def service(self, name: str, argv: list[str]) -> Service:
        svc = Service(name, argv, self.env, self.work / "logs", ROOT).start()
        self.services.append(svc)
        return svc

    def manage(self, *args: str) -> str:
        out = subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True,
                             text=True, check=False)
        if out.returncode:
            raise SystemExit(out.stdout + out.stderr)
        return out.stdout

    def stop(self) -> None:
        for svc in reversed(self.services):
            svc.stop()
        for server in reversed(self.servers):
            server.stop()


@contextmanager
def bench_stack(prefix: str, *, chain: bool = False, redis: bool = True,
                extra_env: dict[str, str] | None = None) -> Iterator[BenchStack]:
    """A private stack for one benchmark, Django set up in this process against it (migrated;
    with `chain`, the contracts deployed by `deploy_contracts` and the hub funded), torn down
    with its data at the end."""
    become_subreaper()
    work = Path(tempfile.mkdtemp(prefix=f"spoke-bench-{prefix}-"))
    stack = BenchStack(work, {})
    try:
        pg = EmbeddedPostgres(work / "pg", fsync=True).start()
        stack.servers.append(pg)
        valkey = EmbeddedValkey(work / "valkey", persist=False).start() if redis else None
        if valkey:
            stack.servers.append(valkey)
        if chain:
            stack.anvil = Anvil().start()
            stack.servers.append(stack.anvil)
        key_file = work / "hub.key"
        key_file.write_text("0x" + secrets.token_hex(32))
        stack.env = {
            **os.environ,
            "DATABASE_URL": pg.url("postgres"),
            "REDIS_URL": valkey.url(0) if valkey else "redis://127.0.0.1:1/0",
            "ETH_RPC_URL": stack.anvil.rpc_url if stack.anvil else "http://127.0.0.1:1",
            "CHAIN_ID": "31337", "CONFIRMATIONS": "0", "HUB_PRIVATE_KEY_FILE": str(key_file),
            "SPOKE_DEVDATA": str(work / "devdata"), "SPOKE_NO_DEVDATA": "1",
            "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(64),
            "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver", "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            **(extra_env or {}),
        }
        stack.manage("migrate", "--noinput")
        if chain:
            stack.manage("deploy_contracts")
        os.environ.update(stack.env)
        os.chdir(ROOT)
        import django

        django.setup()
        yield stack
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # Django was never set up
            pass
        stack.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far) for every process we can read: its own and
    that of its children that have exited (cutime, cstime), so the CPU of a PostgreSQL backend or
    parallel worker that ends between two readings stays counted (in the postmaster's), and a
    figure never goes negative."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), sum(int(v) for v in fields[11:15]) / tick)
    return table


def tree_cpu(*roots: int) -> float:
    """CPU seconds used so far by these processes and their descendants: on a machine
    shared with other work, what a figure cost is steadier than how long it took."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _cpu) in table.items():
        children.setdefault(ppid, []).append(pid)
    total, todo, seen = 0.0, list(roots), set()
    while todo:
        pid = todo.pop()
        if pid in seen or pid not in table:
            continue
        seen.add(pid)
        total += table[pid][1]
        todo.extend(children.get(pid, []))
    return total


def py_spy(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    """Sample `pid` and its children with py-spy (if installed) until stopped."""
    import shutil

    binary = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    if not Path(binary).exists():
        log("py-spy is not installed: no profile")
        return None
    return subprocess.Popen([binary, "record", "--pid", str(pid), "--subprocesses", "--format", "raw",
                             "--rate", "200", "--nonblocking", "-o", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def py_spy_report(proc: subprocess.Popen[bytes], out: Path, top: int | None = None) -> None:
    """Stop the sampler and print the `top` functions with the most samples, own and inclusive
    (default SPOKE_PROFILE_TOP, else 25)."""
    top = top or int(os.environ.get("SPOKE_PROFILE_TOP", "25"))
    import signal

    proc.send_signal(signal.SIGINT)
    proc.wait(60)
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in out.read_text().splitlines() if out.exists() else []:
        stack_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack_text.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames:
            continue
        total += count
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
    log(f"profile: {total} samples")
    for name, table in (("own", own), ("inclusive", inclusive)):
        for frame, count in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            log(f"  {name} {count * 100 / max(total, 1):5.1f}%  {frame[:160]}")
