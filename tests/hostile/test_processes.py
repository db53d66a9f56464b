"""The real processes, started as `./spoke up` starts them (daphne, granian with two workers,
the Dramatiq worker; and gunicorn with config/gunicorn.py, the benchmark's alternative): each puts
the recursion limit back at start-up, and the 200 KB nested body that used to kill daphne and
gunicorn's workers is a 400 on every JSON route, with the process still answering afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from eth_account import Account
from eth_account.messages import encode_defunct

from ops.apps import RECURSION_LIMIT
from stack.ports import free_port, wait_for_port
from tests.browser.dashboard_server import database_url
from tests.payments.conftest import Shop

ROOT = Path(settings.BASE_DIR)
BIN = Path(sys.executable).parent
NESTED = b"[" * 100_000 + b"]" * 100_000
LIMIT_LINE = f"Python recursion limit {RECURSION_LIMIT}"
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def process_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"ETH_RPC_URL", "HUB_PRIVATE_KEY_FILE"}}
    env.update({"DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL, "DEBUG": "true",
                "SPOKE_NO_DEVDATA": "1", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"})
    return env


@contextmanager
def started(argv: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def answers(base: str) -> int:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code  # 503 names what is unhealthy (no chain here): the process answered


def hub_headers(base: str) -> dict[str, str]:
    account = Account.create()
    address = account.address.lower()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/hub/nonce", headers={"x-address": address}),
                                timeout=10) as response:
        nonce = json.loads(response.read())["nonce"]
    signature = Account.sign_message(encode_defunct(text=nonce), account.key).signature
    return {"x-address": address, "x-nonce": nonce, "x-signature": "0x" + bytes(signature).hex()}


def wait_for_line(log: Path, text: str, count: int, timeout: float = 90) -> int:
    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        seen = log.read_text(errors="replace").count(text)
        if seen >= count:
            return seen
        time.sleep(0.2)
    return seen


def nested_body_is_refused_everywhere(base: str, shop: Shop, proc: subprocess.Popen[bytes]) -> None:
    routes = [
        ("/l/lnk_" + "0" * 24 + "/claim", {}),
        ("/api/hub/payments/purchase", hub_headers(base)),
        ("/api/v1/invoices", {"Authorization": f"Bearer {shop.key}"}),
    ]
    for path, headers in routes:
        for _ in range(3):  # granian, gunicorn: more than one request, so both workers get one
            status, body = post(base + path, NESTED, headers)
            assert status == 400, (path, status, body)
            assert proc.poll() is None, f"the server died on {path}"
    assert answers(base) in (200, 503)


@pytest.mark.parametrize("server", ["daphne", "granian", "gunicorn"])
def test_the_http_servers_reset_the_recursion_limit_and_refuse_the_nested_body(
        server: str, shop: Shop, tmp_path: Path) -> None:
    port = free_port()
    argv = {
        "daphne": [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        "granian": [sys.executable, "-m", "config.web", "--bind", f"127.0.0.1:{port}"],
        "gunicorn": [str(BIN / "gunicorn"), "-c", "config/gunicorn.py", "-b", f"127.0.0.1:{port}",
                     "config.wsgi:application"],
    }[server]
    log = tmp_path / f"{server}.log"
    with started(argv, log, {**process_env(), "WEB_WORKERS": "2"}) as proc:
        assert wait_for_port(port, host="127.0.0.1", timeout=90), log.read_text()[-3000:]
        workers = 1 if server == "daphne" else 2
        assert wait_for_line(log, LIMIT_LINE, workers) >= workers, log.read_text()[-3000:]
        nested_body_is_refused_everywhere(f"http://127.0.0.1:{port}", shop, proc)
    assert "Segmentation fault" not in log.read_text(errors="replace")
    assert "WORKER TIMEOUT" not in log.read_text(errors="replace")


def test_the_dramatiq_worker_resets_the_recursion_limit_at_start(tmp_path: Path) -> None:
    env = {**process_env(), "DRAMATIQ_STUB": "0"}
    log = tmp_path / "worker.log"
    argv = [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "1"]
    with started(argv, log, env):
        # the command's own process and the worker process it starts each load the apps
        assert wait_for_line(log, LIMIT_LINE, 2) >= 2, log.read_text()[-3000:]
    assert "100000" not in log.read_text(errors="replace")
