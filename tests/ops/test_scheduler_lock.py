"""The scheduler's Redis lock survives a Redis restart (ops/management/commands/crontab.py).

A Redis restart or stall longer than the lock's TTL loses the "dramatiq-scheduler" key. The
library's scheduler then stopped, and `./spoke up` counted a Valkey restart as a scheduler crash
too. Now the scheduler takes its lock back, and stops only when another scheduler holds it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from apscheduler.schedulers.background import BackgroundScheduler
from django.conf import settings
from django.core.management import get_commands
from redis.exceptions import LockNotOwnedError

from ops.management.commands.crontab import keep_lock

LOCK = "dramatiq-scheduler"  # dramatiq_crontab.utils' lock name


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(settings.REDIS_URL)
    yield conn
    conn.close()


@pytest.fixture
def scheduler() -> Iterator[BackgroundScheduler]:
    running = BackgroundScheduler()
    running.start()
    yield running
    if running.running:
        running.shutdown(wait=False)


def test_the_scheduler_command_is_ours() -> None:
    assert get_commands()["crontab"] == "ops"


def test_a_lock_lost_with_redis_is_taken_back(client: redis.Redis, scheduler: BackgroundScheduler) -> None:
    lock = client.lock(f"test-lock-{uuid.uuid4().hex}", timeout=10, thread_local=False)
    assert lock.acquire(blocking=False)
    token = lock.local.token
    client.delete(lock.name)  # what a Redis restart that lost the key leaves

    keep_lock(lock, scheduler)

    assert client.get(lock.name) == token
    assert 0 < client.pttl(lock.name) <= 10_000
    assert scheduler.running
    lock.release()


def test_a_lock_another_scheduler_took_stops_this_one(client: redis.Redis,
                                                       scheduler: BackgroundScheduler) -> None:
    lock = client.lock(f"test-lock-{uuid.uuid4().hex}", timeout=10, thread_local=False)
    assert lock.acquire(blocking=False)
    client.set(lock.name, b"another-scheduler", px=10_000)

    with pytest.raises(LockNotOwnedError):
        keep_lock(lock, scheduler)

    assert client.get(lock.name) == b"another-scheduler"
    assert not scheduler.running
    client.delete(lock.name)


def wait_for(what: str, condition: Callable[[], object], proc: subprocess.Popen[bytes], log: Path,
             timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


@pytest.mark.slow
def test_the_real_scheduler_keeps_running_when_redis_loses_its_lock(client: redis.Redis,
                                                                     tmp_path: Path) -> None:
    client.delete(LOCK)
    env = {k: v for k, v in os.environ.items() if k != "DRAMATIQ_STUB"}
    env.update({"REDIS_URL": settings.REDIS_URL, "DRAMATIQ_STUB": "1", "LOG_LEVEL": "INFO"})
    log = tmp_path / "scheduler.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "manage.py", "crontab"], cwd=settings.BASE_DIR,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for("the scheduler to take its lock", lambda: client.get(LOCK), proc, log)
        token = client.get(LOCK)
        client.delete(LOCK)  # Redis restarted and lost the key
        # the next extension (every 5 s) takes it back with the same token
        wait_for("the lock to be taken back", lambda: client.get(LOCK) == token or proc.poll() is not None,
                 proc, log)
        assert proc.poll() is None, log.read_text()[-3000:]
        assert "taken back" in log.read_text()

        client.set(LOCK, b"another-scheduler", px=30_000)  # a second scheduler took it meanwhile
        wait_for("the scheduler to stop", lambda: proc.poll() is not None, proc, log)
        assert "another scheduler holds the Redis lock" in log.read_text()
        assert client.get(LOCK) == b"another-scheduler"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        client.delete(LOCK)
