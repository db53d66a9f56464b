"""`./spoke up`: the whole platform on embedded defaults, as children of this process.

Embedded PostgreSQL, Valkey and anvil keep their data in .devdata/ (git-ignored) so a second run
reuses it. Setting DATABASE_URL, REDIS_URL or ETH_RPC_URL replaces the matching embedded part.
A child that dies is started again after a capped, growing delay (stack.supervise), and each
death is logged and raised as an operator alarm (`manage.py raise_alarm`, shown in the admin).
Ctrl-C or SIGTERM stops and reaps everything that was started."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

from stack.embedded import Anvil, ChildServer, EmbeddedPostgres, EmbeddedValkey
from stack.ports import free_port, port_is_free, wait_for_port
from stack.procs import Service, become_subreaper, reap_orphans
from stack.supervise import Backoff, Death, Restarted, Supervisor

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def say(message: str) -> None:
    print(f"spoke: {message}", flush=True)


class Stack:
    def __init__(self) -> None:
        self.devdata = Path(os.environ.get("SPOKE_DEVDATA", ROOT / ".devdata")).resolve()
        self.servers: list[ChildServer] = []
        self.services: list[Service] = []
        self.stopping = False
        self.env: dict[str, str] = {}
        self.http_port = 0
        self.supervisor = Supervisor(Backoff(
            base=float(os.environ.get("SPOKE_RESTART_BASE_SECONDS", "0.5")),
            cap=float(os.environ.get("SPOKE_RESTART_CAP_SECONDS", "30")),
        ), on_death=self.on_death, on_restart=self.on_restart)
        self.alarms: list[dict[str, Any]] = []  # not yet recorded (raise_alarm --many)
        self.alarms_sent = 0
        self.alarm_proc: subprocess.Popen[bytes] | None = None
        self.alarm_retry_at = 0.0

    # --- embedded servers ----------------------------------------------------------------
    def start_servers(self) -> dict[str, str]:
        urls: dict[str, str] = {}
        if os.environ.get("DATABASE_URL"):
            urls["DATABASE_URL"] = os.environ["DATABASE_URL"]
        else:
            pg = EmbeddedPostgres(self.devdata / "postgres").start()
            self.servers.append(pg)
            pg.ensure_database("spoke")
            urls["DATABASE_URL"] = pg.url("spoke")
            say(f"embedded PostgreSQL on port {pg.port}")
        if os.environ.get("REDIS_URL"):
            urls["REDIS_URL"] = os.environ["REDIS_URL"]
        else:
            valkey = EmbeddedValkey(self.devdata / "valkey").start()
            self.servers.append(valkey)
            urls["REDIS_URL"] = valkey.url(0)
            say(f"embedded Valkey on port {valkey.port}")
        if os.environ.get("ETH_RPC_URL"):
            urls["ETH_RPC_URL"] = os.environ["ETH_RPC_URL"]
        else:
            anvil = Anvil(data_dir=self.devdata / "anvil",
                          state_file=self.devdata / "anvil" / "state.json").start()
            self.servers.append(anvil)
            urls["ETH_RPC_URL"] = anvil.rpc_url
            urls.setdefault("CHAIN_ID", str(Anvil.CHAIN_ID))
            # anvil mines a block per transaction: waiting for confirmations would wait forever.
            urls.setdefault("CONFIRMATIONS", "0")
            say(f"anvil on port {anvil.port} (state kept in {anvil.state_file})")
        return urls

    def hub_key_file(self) -> Path:
        path = Path(os.environ.get("HUB_PRIVATE_KEY_FILE", self.devdata / "hub.key"))
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("0x" + secrets.token_hex(32) + "\n")
            path.chmod(0o600)
        return path

    def write_env(self, urls: dict[str, str]) -> None:
        debug = os.environ.get("DEBUG", "true")
        values = {
            "DEBUG": debug,
            # a webhook receiver on this machine is the usual development set-up
            "WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS": os.environ.get(
                "WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS", "true" if debug.lower() in ("1", "true", "yes", "on") else "false"),
            "HUB_PRIVATE_KEY_FILE": str(self.hub_key_file()),
            **urls,
        }
        env_file = self.devdata / "stack.env"
        env_file.write_text(
            "# written by ./spoke up: the running stack's servers (real env vars win)\n"
            + "".join(f"{k}={v}\n" for k, v in values.items())
        )
        self.env = {**os.environ, **values, "PYTHONUNBUFFERED": "1"}

    # --- one-off steps -------------------------------------------------------------------
    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(  # noqa: S603
            [PY, "manage.py", *args], cwd=ROOT, env=self.env, text=True, capture_output=True,
            check=False,
        )
        if check and result.returncode != 0:
            sys.stderr.write(result.stdout + result.stderr)
            raise SystemExit(f"spoke: `manage.py {' '.join(args)}` failed")
        return result

    def commands(self) -> set[str]:
        out = self.manage("help", "--commands").stdout
        return {line.strip() for line in out.splitlines() if line.strip()}

    def prepare(self) -> None:
        say("applying migrations")
        self.manage("migrate", "--noinput")
        if "deploy_contracts" in self.commands():
            say("deploying contracts and funding the hub")
            out = self.manage("deploy_contracts")
            sys.stdout.write(out.stdout)
        else:
            say("no contracts to deploy yet")
        self.manage("collectstatic", "--noinput", check=False)
        out = self.manage("seed_demo")
        sys.stdout.write(out.stdout)

    # --- long-running processes ----------------------------------------------------------
    def web_port(self) -> int:
        wanted = int(os.environ.get("PORT", "8000"))
        return wanted if port_is_free(wanted) else free_port()

    def start_services(self) -> int:
        logs = self.devdata / "logs"
        port = self.web_port()
        host = os.environ.get("HOST", "127.0.0.1")
        bin_dir = Path(PY).parent
        self.http_port = free_port()
        self.services = [
            Service("web", [str(bin_dir / "daphne"), "-b", host, "-p", str(port),
                            "config.asgi:application"], self.env, logs, ROOT).start(),
            # The same HTTP routes from a WSGI server (granian, config/web.py): what a deployment
            # puts in front of the protocol API at volume (bench/payments_bench.py); no WebSockets.
            Service("http", [PY, "-m", "config.web", "--bind", f"{host}:{self.http_port}"],
                    self.env, logs, ROOT).start(),
            Service("worker", [PY, "manage.py", "rundramatiq", "--processes", "1", "--threads",
                               "4", "--worker-shutdown-timeout", "15000"],
                    self.env, logs, ROOT).start(),
            Service("scheduler", [PY, "manage.py", "crontab"], self.env, logs, ROOT).start(),
        ]
        probe_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104
        for name, wanted in (("web", port), ("http", self.http_port)):
            # granian accepts connections once a worker has loaded Django (half a minute on a
            # busy 2-core machine); daphne binds first
            if not wait_for_port(wanted, host=probe_host, timeout=180):
                raise SystemExit(f"spoke: the {name} server did not start; see {logs}/{name}.log")
        return port

    def banner(self, port: int) -> None:
        creds_file = self.devdata / "credentials.json"
        creds: dict[str, Any] = json.loads(creds_file.read_text()) if creds_file.exists() else {}
        base = f"http://127.0.0.1:{port}"
        lines = [
            "",
            "Spoke is running.",
            f"  dashboard        {base}/dashboard/",
            f"  operator admin   {base}/admin/",
            f"  merchant API     {base}/api/v1/   (OpenAPI: {base}/api/v1/schema/)",
            f"  hub protocol API {base}/api/hub/  (Connext HUB_URL)",
            f"  HTTP fast path   http://127.0.0.1:{self.http_port}/  (granian: the same HTTP "
            "routes for high-volume API clients; WebSockets stay on the first URL)",
            f"  health           {base}/healthz",
            f"  Ethereum RPC     {self.env['ETH_RPC_URL']}",
        ]
        operator = creds.get("operator")
        if operator:
            lines.append(f"  operator login   {operator['username']} / {operator['password']}"
                         " (first sign-in sets up an authenticator app: operators need a second factor)")
        merchant = creds.get("merchant")
        if merchant:
            lines.append(f"  merchant login   {merchant['username']} / {merchant['password']}  "
                         f"({merchant['name']}, receiving address {merchant['address']})")
            lines.append(f"  merchant API key {merchant['api_key']}")
        lines += [f"  logs             {self.devdata / 'logs'}", "Press Ctrl-C to stop.", ""]
        print("\n".join(lines), flush=True)

    # --- keeping the children up ---------------------------------------------------------
    def log_dir_of(self, name: str) -> str:
        if name in {service.name for service in self.services}:
            return f"{self.devdata}/logs/{name}.log"
        return f"{self.devdata}/{name}/"

    def on_death(self, death: Death) -> None:
        pid = f" (pid {death.pid})" if death.pid else ""
        say(f"{death.name}{pid} {death.how}; restarting in {death.delay:g} s "
            f"({death.deaths_in_a_row} in a row; see {self.log_dir_of(death.name)})")
        if death.data_server:
            what = {
                "postgres": "PostgreSQL recovers from its write-ahead log; requests failed meanwhile",
                "valkey": "Valkey reloads its append-only file; queued jobs written in the last "
                          "second may be lost and pushes were dropped meanwhile",
                "anvil": "anvil reloads .devdata/anvil/state.json, which is saved every 5 s: "
                         "blocks mined since then are gone and the hub sees them as reorged",
            }.get(death.name, "")
            say(f"WARNING: embedded {death.name} died; {what}")

    def on_restart(self, restarted: Restarted) -> None:
        death = restarted.death
        say(f"{death.name} restarted (pid {restarted.pid})")
        critical = death.data_server or death.deaths_in_a_row >= 3
        self.alarms.append({
            "kind": "process_restarted", "key": death.name,
            "severity": "critical" if critical else "warning",
            "message": f"{death.name} {death.how} and was restarted after {death.delay:g} s "
                       f"({death.deaths_in_a_row} in a row)",
            "detail": {"pid": death.pid, "returncode": death.returncode, "new_pid": restarted.pid,
                       "deaths_in_a_row": death.deaths_in_a_row},
        })

    def record_alarms(self) -> None:
        """Record queued alarms with `manage.py raise_alarm` (all that are queued in one start-up)
        without blocking the loop; if the database is down (it may be what died), retry later."""
        now = time.monotonic()
        if self.alarm_proc is not None:
            code = self.alarm_proc.poll()
            if code is None:
                return
            self.alarm_proc = None
            if code == 0:
                del self.alarms[:self.alarms_sent]
            else:
                say(f"could not record the alarm yet (raise_alarm exited with {code}); retrying")
                self.alarm_retry_at = now + 5
        if self.alarms and now >= self.alarm_retry_at:
            self.alarms_sent = len(self.alarms)
            self.alarm_proc = subprocess.Popen(  # noqa: S603 - our own argv
                [PY, "manage.py", "raise_alarm", "--many", json.dumps(self.alarms)], cwd=ROOT,
                env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def supervise(self) -> NoReturn:
        for server in self.servers:
            self.supervisor.watch(server, data_server=True)
        for service in self.services:
            self.supervisor.watch(service)
        while True:
            time.sleep(0.5)
            reap_orphans()
            self.supervisor.poll()
            self.record_alarms()

    def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        say("stopping")
        if self.alarm_proc is not None and self.alarm_proc.poll() is None:
            self.alarm_proc.kill()
            self.alarm_proc.wait()
        if self.alarms:
            say(f"{len(self.alarms)} alarm(s) not recorded: {self.alarms}")
        for service in reversed(self.services):
            service.stop()
        for server in reversed(self.servers):
            server.stop()
        reap_orphans()
        say("stopped")

    def run(self) -> int:
        become_subreaper()
        self.devdata.mkdir(parents=True, exist_ok=True)

        def on_signal(signum: int, _frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        started = time.monotonic()
        try:
            self.write_env(self.start_servers())
            self.prepare()
            port = self.start_services()
            self.banner(port)
            say(f"ready in {time.monotonic() - started:.1f} s")
            self.supervise()
        except KeyboardInterrupt:
            return 0
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            self.stop()


def main() -> None:
    os.chdir(ROOT)
    raise SystemExit(Stack().run())


if __name__ == "__main__":
    main()
