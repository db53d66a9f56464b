"""The dashboard served the way production serves it (daphne, HTTP + WebSockets) against the
test database, for the browser tests; and a Chromium page that records console errors."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from stack.ports import free_port

ROOT = Path(settings.BASE_DIR)
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                 "--disable-dev-shm-usage"]


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def daphne_server(log_dir: Path, chain: Any = None, production: dict[str, str] | None = None,
                  ) -> Iterator[str]:
    """daphne on a free port; `chain` (a tests.chain_env.ChainEnv) gives it the hub's chain
    settings (settlements need the hub key and contracts). With `production` (extra settings,
    possibly none) it runs with DEBUG=false and what production requires, serving its own static
    files."""
    port = free_port()
    env = dict(os.environ)
    env.update({"DATABASE_URL": database_url(), "REDIS_URL": settings.REDIS_URL, "DEBUG": "true",
                "SPOKE_NO_DEVDATA": "1", "DRAMATIQ_STUB": "1", "LOG_LEVEL": "WARNING",
                "DB_POOL_SIZE": "4"})  # as deployed: daphne takes connections from a pool
    for name in ("ETH_RPC_URL", "CHANNEL_MANAGER_ADDRESS", "TOKEN_ADDRESS", "CHECKOUT_ADDRESS",
                 "HUB_PRIVATE_KEY_FILE",
                 "HUB_KEYSTORE_FILE", "HUB_KEYSTORE_PASSWORD_FILE"):
        env.pop(name, None)
    if chain is not None:
        from stack.embedded import Anvil

        env.update({"ETH_RPC_URL": chain.rpc_url, "CHAIN_ID": str(Anvil.CHAIN_ID), "CONFIRMATIONS": "0",
                    "CHANNEL_MANAGER_ADDRESS": chain.deployment.channel_manager,
                    "TOKEN_ADDRESS": chain.deployment.token, "HUB_PRIVATE_KEY_FILE": str(chain.key_file),
                    **({"CHECKOUT_ADDRESS": chain.deployment.checkout} if chain.deployment.checkout else {})})
    if production is not None:
        key_file = log_dir / "hub.key"
        if "HUB_PRIVATE_KEY_FILE" not in env:
            key_file.write_text("0x" + secrets.token_hex(32) + "\n")
            env["HUB_PRIVATE_KEY_FILE"] = str(key_file)
        env.update({"DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(48),
                    "ALLOWED_HOSTS": "localhost,127.0.0.1", "SERVE_STATIC": "true", **production})
    log_path = log_dir / f"daphne-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 90  # Django start-up on a busy 2-core machine
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("daphne did not start:\n" + log_path.read_text()[-3000:]) from None
                time.sleep(0.1)
        yield f"http://localhost:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if "Traceback" in log_path.read_text(errors="replace"):
            sys.stderr.write("daphne log:\n" + log_path.read_text(errors="replace")[-5000:])


@contextmanager
def chromium_page(console_errors: list[str], *, bypass_csp: bool = False) -> Iterator[Any]:
    """`bypass_csp` lets a test inject its own checker script (axe-core) into the page; the
    pages' own scripts are the same either way."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True,
                                          bypass_csp=bypass_csp)
            page = context.new_page()
            # the page and the source line with each error: a message alone does not say which
            # page or element broke the policy
            page.on("console", lambda m: console_errors.append(
                f"{m.text} [page {page.url}; at {m.location}]") if m.type == "error" else None)
            page.on("pageerror", lambda e: console_errors.append(f"{e} [page {page.url}]"))
            yield page
        finally:
            browser.close()


def messages(console_errors: list[str]) -> list[str]:
    """The errors' messages without the page and source `chromium_page` adds to each."""
    return [error.split(" [page ", 1)[0] for error in console_errors]


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)


def fits_width(page: Any) -> tuple[int, int]:
    """(document scroll width, viewport width): the page scrolls sideways when the first is larger."""
    sizes = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return int(sizes[0]), int(sizes[1])


def overflowing(page: Any) -> list[str]:
    """The outermost elements that reach past the right edge of the window (for the message)."""
    found = page.evaluate("""() => {
        const out = [], width = window.innerWidth;
        for (const el of document.body.querySelectorAll("*")) {
          const box = el.getBoundingClientRect();
          if (box.right > width + 1 && box.width > 0 && !out.some(o => o.el.contains(el))) {
            let scroller = false;
            for (let p = el.parentElement; p; p = p.parentElement) {
              const s = getComputedStyle(p).overflowX;
              if (s === "auto" || s === "scroll" || s === "hidden") { scroller = true; break; }
            }
            if (!scroller) out.push({el, text: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
              (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : "") +
              " right=" + Math.round(box.right)});
          }
        }
        return out.slice(0, 5).map(o => o.text);
    }""")
    return [str(x) for x in found]


def axe_serious(page: Any) -> list[str]:
    """axe-core run in the page: the serious and critical violations, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await window.axe.run(document, {resultTypes: ["violations"]});
        return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
          .map(v => v.impact + " " + v.id + ": " + v.help + " @ " +
               v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "));
    }""")
    return [str(line) for line in found]


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
