"""`./spoke test`: run the whole suite against real PostgreSQL and Redis.

DATABASE_URL / REDIS_URL are used when set (CI points them at the machine's servers); otherwise
an embedded PostgreSQL and Valkey are started on free ports in a private temporary directory.
Tests that need a chain start their own anvil (tests/conftest.py). Tests get a Redis database
number of their own so they never touch a running stack's data."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from stack.embedded import EmbeddedPostgres, EmbeddedValkey
from stack.procs import become_subreaper, reap_orphans

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_DB = 13


def with_redis_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return url
    return urlunsplit(parts._replace(path=f"/{db}"))


@contextmanager
def test_servers() -> Iterator[dict[str, str]]:
    """The environment a test process needs: real PostgreSQL and Redis (embedded ones on free
    ports unless DATABASE_URL / REDIS_URL are set), stopped and cleaned up on exit."""
    servers: list[EmbeddedPostgres | EmbeddedValkey] = []
    env = dict(os.environ)
    work = Path(tempfile.mkdtemp(prefix="spoke-test-"))
    try:
        if not env.get("DATABASE_URL"):
            pg = EmbeddedPostgres(work / "postgres").start()
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


def main() -> None:
    become_subreaper()
    with test_servers() as env:
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "pytest", *sys.argv[1:]], cwd=ROOT, env=env, check=False
        )
    raise SystemExit(result.returncode)


if __name__ == "__main__":
    main()
