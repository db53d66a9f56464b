"""`./spoke test`: run the whole suite against real PostgreSQL and Redis.

DATABASE_URL / REDIS_URL are used when set (CI points them at the machine's servers); otherwise
an embedded PostgreSQL and Valkey are started on free ports in a private temporary directory.
Tests that need a chain start their own anvil (tests/conftest.py). Tests get a Redis database
number of their own so they never touch a running stack's data.

The whole suite runs in SPOKE_TEST_WORKERS (default 2) pytest-xdist worker processes, each with
its own test database and Redis database (tests/workers.py); a run that names its tests, or
chooses xdist's options itself, runs as asked."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from stack.embedded import EmbeddedPostgres, EmbeddedValkey
from stack.procs import become_subreaper, reap_orphans

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_DB = 13
TEST_WORKERS = 2


def parallel_args(args: list[str], workers: int) -> list[str]:
    """`-n workers` for a whole-suite run; nothing when `args` name tests (a path, a node id)
    or set xdist's options (-n, --dist, -p no:xdist), or when workers < 2."""
    if workers < 2:
        return []
    for arg in args:
        if arg.startswith(("-n", "--numprocesses", "--dist", "--maxprocesses")) or arg == "no:xdist":
            return []
        if not arg.startswith("-") and (ROOT / arg.split("::", 1)[0]).exists():
            return []
    # one test at a time to whichever worker is free: the long tests come first
    # (tests/conftest.py orders them), so the run ends with short ones on both workers
    return ["-n", str(workers), "--dist", "load", "--maxschedchunk", "1"]


def with_redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return url
    return urlunsplit(parts._replace(path=f"/{db}"))


@contextmanager
def test_servers(*, fsync: bool = True) -> Iterator[dict[str, str]]:
    """The environment a test process needs: real PostgreSQL and Redis (embedded ones on free
    ports unless DATABASE_URL / REDIS_URL are set), stopped and cleaned up on exit. `fsync=False`:
    the embedded PostgreSQL does not wait for the disk (its data is thrown away at the end)."""
    servers: list[EmbeddedPostgres | EmbeddedValkey] = []
    env = dict(os.environ)
    work = Path(tempfile.mkdtemp(prefix="spoke-test-"))
    try:
        if not env.get("DATABASE_URL"):
            pg = EmbeddedPostgres(work / "postgres", fsync=fsync).start()
            servers.append(pg)
            env["DATABASE_URL"] = pg.url("postgres")
            print(f"spoke: embedded PostgreSQL for tests on port {pg.port}", flush=True)
        if not env.get("REDIS_URL"):
            valkey = EmbeddedValkey(work / "valkey", persist=False).start()
            servers.append(valkey)
            env["REDIS_URL"] = valkey.url(0)
            print(f"spoke: embedded Valkey for tests on port {valkey.port}", flush=True)
        db = int(env.get("SPOKE_TEST_REDIS_DB", TEST_REDIS_DB))
        env["REDIS_URL"] = with_redis_db(env["REDIS_URL"], db)
        env.update({
            "SPOKE_NO_DEVDATA": "1",  # never pick up a running dev stack's servers
            "SPOKE_DEVDATA": str(work / "devdata"),
            "DEBUG": "true",
            # no persistent connections: threads and live servers would keep the test database busy
            "DB_CONN_MAX_AGE": env.get("DB_CONN_MAX_AGE", "0"),
            "DB_POOL_SIZE": env.get("DB_POOL_SIZE", "0"),  # nor pooled ones
            "DRAMATIQ_STUB": env.get("DRAMATIQ_STUB", "1"),  # unit tests: in-memory broker
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        env.pop("ETH_RPC_URL", None)
        yield env
    finally:
        for server in reversed(servers):
            server.stop()
        reap_orphans()
        subprocess.run(["rm", "-rf", str(work)], check=False)  # noqa: S603, S607


# test_<name>_gw0_p<pid>: a run's test databases on a shared server carry its launcher's pid
RUN_DATABASE = re.compile(r"^test_.*_p(\d+)$")


def drop_run_databases(database_url: str, *, pid: int | None = None) -> None:
    """Drop the test databases that `pid`'s run left on a shared PostgreSQL server, or with no
    pid, those of every run whose launcher is gone (a killed run cannot drop its own)."""
    try:
        with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn:
            names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
            for name in names:
                found = RUN_DATABASE.match(name)
                if found is None:
                    continue
                owner = int(found[1])
                if owner != pid if pid is not None else Path(f"/proc/{owner}").exists():
                    continue  # another run's, or a run still going
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error as exc:
        print(f"spoke: could not clean up test databases: {exc}", file=sys.stderr, flush=True)


def main() -> None:
    become_subreaper()
    shared_database = os.environ.get("DATABASE_URL")
    if shared_database:
        # other runs may use the same server at the same time (tests/conftest.py names them)
        os.environ["SPOKE_TEST_DB_SUFFIX"] = f"p{os.getpid()}"
        drop_run_databases(shared_database)
    with test_servers() as env:
        args = sys.argv[1:]
        args = [*parallel_args(args, int(env.get("SPOKE_TEST_WORKERS", TEST_WORKERS))), *args]
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env, check=False
        )
    if shared_database:
        drop_run_databases(shared_database, pid=os.getpid())
    raise SystemExit(result.returncode)


if __name__ == "__main__":
    main()
