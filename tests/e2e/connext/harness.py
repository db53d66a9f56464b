"""Runs tests/e2e/connext/driver.js (the real Connext v1 client) from Python tests.

    driver = ConnextDriver(hub_url=live_server.url + "/api/hub", eth_url=anvil.rpc_url,
                           private_key=USER_KEY)
    driver.deposit(amount_wei=10**17)            # raises ConnextDriverError on failure
    state = driver.state().channel               # the client's persistent channel state
    secret = driver.generate_secret()

Each call is one `node driver.js` process (cwd = repository root); the input JSON goes to stdin so
keys never appear in the process list.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
DRIVER = Path(__file__).with_name("driver.js")


class ConnextDriverError(AssertionError):
    """The driver reported failure (or printed nothing parseable)."""

    def __init__(self, result: DriverResult) -> None:
        self.result = result
        tail = "\n".join(result.stderr.splitlines()[-25:])
        super().__init__(f"connext {result.command} failed: {result.error}\n--- client log tail ---\n{tail}")


@dataclass
class DriverResult:
    ok: bool
    command: str
    returncode: int
    result: Any = None
    channel: dict[str, Any] | None = None
    runtime: dict[str, Any] | None = None
    error: str | None = None
    status: int | None = None
    stderr: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class ConnextDriver:
    hub_url: str | None
    private_key: str | None = None
    eth_url: str | None = None
    mnemonic: str | None = None
    timeout: float = 120.0
    log_level: int = 3
    node: str = "node"

    def run(self, command: str, args: dict[str, Any] | None = None, *, check: bool = True,
            timeout: float | None = None) -> DriverResult:
        limit = timeout or self.timeout
        payload: dict[str, Any] = {
            "command": command,
            "args": args or {},
            "timeoutMs": int(limit * 1000),
            "logLevel": self.log_level,
        }
        for key, value in (("hubUrl", self.hub_url), ("ethUrl", self.eth_url),
                           ("privateKey", self.private_key), ("mnemonic", self.mnemonic)):
            if value:
                payload[key] = value
        proc = subprocess.run(
            [self.node, str(DRIVER)], input=json.dumps(payload).encode(), cwd=REPO_ROOT,
            capture_output=True, timeout=limit + 30, check=False,
        )
        stderr = proc.stderr.decode(errors="replace")
        lines = [ln for ln in proc.stdout.decode(errors="replace").splitlines() if ln.startswith("{")]
        data: dict[str, Any] = json.loads(lines[-1]) if lines else {
            "ok": False, "error": f"no output (exit {proc.returncode})"}
        result = DriverResult(
            ok=bool(data.get("ok")) and proc.returncode == 0,
            command=command,
            returncode=proc.returncode,
            result=data.get("result"),
            channel=data.get("channel"),
            runtime=data.get("runtime"),
            error=data.get("error"),
            status=data.get("status"),
            stderr=stderr,
            raw=data,
        )
        if check and not result.ok:
            raise ConnextDriverError(result)
        return result

    # ---- one method per driver command -----------------------------------------------------

    def probe(self) -> DriverResult:
        return self.run("probe")

    def state(self) -> DriverResult:
        return self.run("state")

    def deposit(self, *, amount_wei: int = 0, amount_token: int = 0, wait: bool = True,
                **kw: Any) -> DriverResult:
        return self.run("deposit", {"amountWei": str(amount_wei), "amountToken": str(amount_token),
                                    "wait": wait}, **kw)

    def exchange(self, to_sell: int, currency: str, **kw: Any) -> DriverResult:
        return self.run("exchange", {"toSell": str(to_sell), "currency": currency}, **kw)

    def withdraw(self, *, wait: bool = True, check: bool = True, **params: Any) -> DriverResult:
        """params: amountWei/amountToken/recipient (succinct) or full WithdrawalParameters."""
        return self.run("withdraw", {**{k: str(v) if isinstance(v, int) else v for k, v in params.items()},
                                     "wait": wait}, check=check)

    def buy(self, payments: list[dict[str, Any]], meta: dict[str, Any] | None = None,
            **kw: Any) -> DriverResult:
        """payments: [{recipient, amountWei?, amountToken?, type?, meta?}]."""
        return self.run("buy", {"payments": payments, "meta": meta or {}}, **kw)

    def redeem(self, secret: str, **kw: Any) -> DriverResult:
        return self.run("redeem", {"secret": secret}, **kw)

    def recipient_needs_collateral(self, recipient: str, *, amount_wei: int = 0, amount_token: int = 0,
                                   **kw: Any) -> str | None:
        """The client's `recipientNeedsCollateral`: None when the hub can pay the recipient now."""
        result = self.run("recipientNeedsCollateral", {
            "recipient": recipient, "amountWei": str(amount_wei), "amountToken": str(amount_token)}, **kw)
        message = result.result["message"]
        return None if message is None else str(message)

    def request_collateral(self, *, wait: bool = False, **kw: Any) -> DriverResult:
        return self.run("requestCollateral", {"wait": wait}, **kw)

    def generate_secret(self) -> str:
        return str(self.run("generateSecret").result["secret"])
