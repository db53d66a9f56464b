"""Benchmark: PT_CHANNEL payments through the hub's HTTP API.

The whole stack runs as in production, on this machine: PostgreSQL (embedded, fsync on,
synchronous_commit on: every commit is durable; BENCH_DATABASE_URL=postgres://… uses an existing
server instead), Valkey, anvil with the real contracts, the HTTP server of config/web.py (granian)
serving the HTTP API from `config.wsgi` with two processes (one per core), the Dramatiq worker and
the scheduler; BENCH_SERVER=gunicorn serves it with config/gunicorn.py's settings when the code has them.
BENCH_SERVER=daphne serves it from `config.asgi` with two daphne processes instead (a client
spreads its payers over them as a load balancer would). Channels are funded through the real protocol with the Python
SDK (on-chain deposits, hub collateral). Every payment's user signature is computed before the
timed window; the timed window measures the payer's request only.

Two workloads, both printed:
- disjoint: --pairs payers, each paying its own recipient (no channel shared by two payers; every
  payment's user signature is computed before the timed window). An open-loop run at --rate
  payments/s for --duration seconds (latency under the target load, judged against the target),
  then a closed-loop run (every payer back to back) for the maximum rate.
- contended: the same payers pay into two merchants (their two channels take half of all payments)
  and into the half of the payers that also receive, open loop at --rate. A payer whose channel
  moved under it (a payment came in) re-reads its state from the hub and signs again, as a real
  client does; the retries are inside the measured latency.

Open-loop latency is measured from the time the payment was SCHEDULED to be sent, not from when
the load generator got round to sending it, so queueing behind a slow request counts (no
coordinated omission); the time from the actual send is printed beside it. An exception in a load
thread is counted and fails the run. After the runs the database is checked: the ledger balances,
every channel's head is its latest valid update, each channel's ledger equals its state, and the
users' token balances moved by exactly the payments recorded (none created or destroyed). Then the
raw cost of the crypto and database work one payment needs. Exit status: non-zero when a load
thread failed or a consistency check did not pass.

Side by side: with --baseline REV, a git worktree of that commit is served by a second, identical
stack (its own PostgreSQL, Valkey, anvil, worker and scheduler, and its own server: config/web.py when
the commit has one, else gunicorn with config/gunicorn.py when it has that), funded, warmed up and
run through the same open loop; the closed loop then runs in
--rounds alternating rounds (baseline, this code, baseline, ...) of --max-duration seconds each, so
both are measured on the same machine in the same minutes, and the ratio of their rates is printed
beside each one's ratio to the raw crypto + durable-commit limit (measured once, for both). The
database checks run for both databases. BENCH_PROFILE=dir records the web processes with py-spy
during the first closed-loop round of each.

    .venv/bin/python bench/payments_bench.py [--pairs 16] [--rate 100] [--duration 30]
                                             [--baseline d43a664 --rounds 3 --max-duration 10]
    .venv/bin/python -m bench.run payments      # the same, as figures with targets and verdicts
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # spoke_client: the dev environment's editable install of client/
if os.environ.get("BENCH_CODE_ROOT"):  # a database check of a baseline's stack: its own models
    sys.path.insert(0, os.environ["BENCH_CODE_ROOT"])

import httpx  # noqa: E402
from eth_account import Account  # noqa: E402
from eth_account.messages import encode_defunct  # noqa: E402

from stack.embedded import Anvil, EmbeddedPostgres, EmbeddedValkey  # noqa: E402
from stack.ports import free_port, wait_for_port  # noqa: E402
from stack.procs import Service, become_subreaper  # noqa: E402

TOKEN = 10**18
PY = sys.executable
SERVER = os.environ.get("BENCH_SERVER", "web")
PURCHASE_PATH = "/api/hub/payments/purchase"


import logging  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("spoke_client").setLevel(logging.WARNING)


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


@dataclass
class Stack:
    env: dict[str, str]
    web_ports: list[int]
    servers: list[Any] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    work: Path | None = None  # its PostgreSQL's data directory is under it

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by the stack's processes and their children: the web server,
        PostgreSQL, and the worker with the scheduler."""
        procs = _proc_table()
        roots: dict[str, list[int]] = {"web": [], "postgres": [], "worker": []}
        for service in self.services:
            roots["web" if service.name.startswith("web") else "worker"].append(service.pid)
        if self.work is not None:
            data = str(self.work / "pg")
            roots["postgres"] += [pid for pid, (_ppid, _cpu, cmd) in procs.items()
                                  if pid != os.getpid() and data in cmd and "postgres" in cmd]
        return {name: sum(_tree_cpu(procs, pid) for pid in pids) for name, pids in roots.items()}

    def stop(self) -> None:
        for s in reversed(self.services):
            s.stop()
        for s in reversed(self.servers):
            s.stop()


def _proc_table() -> dict[int, tuple[int, float, str]]:
    """pid -> (parent pid, CPU seconds, command line), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        # its own CPU and that of its children that exited and were waited for (PostgreSQL's
        # backends of closed connections)
        table[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick, cmd)
    return table


def _tree_cpu(procs: dict[int, tuple[int, float, str]], root: int) -> float:
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in procs:
            total += procs[pid][1]
            todo += [child for child, (ppid, _c, _cmd) in procs.items() if ppid == pid]
    return total


def cpu_report(name: str, seconds: dict[str, float], client: float, payments: float) -> None:
    """CPU milliseconds per payment by process group (`seconds`: CPU seconds used in total)."""
    if not payments or not seconds:
        return
    used = {k: v * 1000 / payments for k, v in seconds.items()}
    log(f"{name}: CPU per payment: web {used['web']:.2f} ms, PostgreSQL {used['postgres']:.2f} ms, "
        f"worker+scheduler {used['worker']:.2f} ms, load generator {client * 1000 / payments:.2f} ms "
        f"(total {sum(used.values()) + client * 1000 / payments:.2f} ms)")



def start_stack(work: Path, web_processes: int, code: Path = ROOT) -> Stack:
    """The whole stack serving the code in `code` (this checkout, or a baseline's worktree)."""
    # BENCH_DATABASE_URL points the hub at an existing PostgreSQL server (durable commits there
    # too: check its fsync/synchronous_commit, printed at the end); otherwise an embedded one.
    database_url = os.environ.get("BENCH_DATABASE_URL")
    pg = None if database_url else EmbeddedPostgres(work / "pg", fsync=True).start()
    if pg is not None:
        database_url = pg.url("postgres")
    valkey = EmbeddedValkey(work / "valkey", persist=False).start()
    anvil = Anvil().start()
    key_file = work / "hub.key"
    key_file.write_text("0x" + secrets.token_hex(32))
    env = {
        **os.environ,
        "DATABASE_URL": str(database_url), "REDIS_URL": valkey.url(0), "ETH_RPC_URL": anvil.rpc_url,
        "CHAIN_ID": "31337", "CONFIRMATIONS": "0", "HUB_PRIVATE_KEY_FILE": str(key_file),
        "SPOKE_DEVDATA": str(work / "devdata"), "SPOKE_NO_DEVDATA": "1",
        # production settings (DEBUG off: no query logging), plain HTTP on loopback
        "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1",
    }
    stack = Stack(env, [], [s for s in (pg, valkey, anvil) if s is not None], work=work)

    def manage(*args: str) -> str:
        out = subprocess.run([PY, "manage.py", *args], cwd=code, env=env, capture_output=True,
                             text=True, check=False)
        if out.returncode:
            raise SystemExit(out.stdout + out.stderr)
        return out.stdout

    manage("migrate", "--noinput")
    manage("deploy_contracts")
    manage("shell", "-c", "from hub.rates.models import RateSource; "
           "RateSource.objects.create(kind='operator', operator_rate='200'); "
           "from hub.rates.services import rate_refresh; rate_refresh()")
    logs = work / "logs"
    server = SERVER if code == ROOT else "web"  # a baseline: as that commit served it
    if server in ("web", "gunicorn"):
        port = free_port()
        stack.web_ports.append(port)
        gunicorn = str(Path(PY).parent / "gunicorn")
        web_env = {**env, "WEB_WORKERS": str(web_processes)}
        if server == "web" and (code / "config" / "web.py").exists():
            # the code's own server and settings, as `./spoke up` runs them (--web: the processes)
            argv = [PY, "-m", "config.web", "--bind", f"127.0.0.1:{port}"]
        elif (code / "config" / "gunicorn.py").exists():  # code from before config/web.py
            argv = [gunicorn, "-c", "config/gunicorn.py", "-b", f"127.0.0.1:{port}",
                    "config.wsgi:application"]
        else:  # code from before config/gunicorn.py: what the benchmark and `./spoke up` ran then
            argv = [gunicorn, "-b", f"127.0.0.1:{port}", "-w", str(web_processes),
                    "--no-control-socket", "config.wsgi:application"]
            web_env = env
        stack.services.append(Service("web", argv, web_env, logs, code).start())
    for _ in range(web_processes if server == "daphne" else 0):
        port = free_port()
        stack.web_ports.append(port)
        stack.services.append(Service(f"web-{port}", [str(Path(PY).parent / "daphne"), "-b",
                                                      "127.0.0.1", "-p", str(port),
                                                      "config.asgi:application"],
                                      env, logs, code).start())
    stack.services.append(Service("worker", [PY, "manage.py", "rundramatiq", "--processes", "1",
                                             "--threads", "4"], env, logs, code).start())
    stack.services.append(Service("scheduler", [PY, "manage.py", "crontab"], env, logs, code).start())
    for port in stack.web_ports:
        if not wait_for_port(port, timeout=180):  # granian listens once a worker has loaded Django
            raise SystemExit(f"{SERVER} on {port} did not start; see {logs}")
        # listening is not answering: the workers import Django first (slow on a busy machine)
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/hub/config", timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{SERVER} on {port} does not answer; see {logs}")
    return stack


@dataclass
class Pair:
    payer: Any  # spoke_client.Channel
    recipient: Any
    payer_key: Any
    receives: bool = False  # collateralized: also paid by other payers in the contended run
    headers: dict[str, str] = field(default_factory=dict)
    signed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def address(self) -> str:
        return str(self.payer_key.address).lower()


def setup_pairs(stack: Stack, pairs: int, payments_each: int, amount: int,
                receiving: int) -> list[Pair]:
    from spoke_client import Channel, ChannelManagerClient, HubClient, MemoryStateStore, UserKey
    from web3 import Web3

    from hub.chain.deploy import mint_tokens, send_eth

    w3 = Web3(Web3.HTTPProvider(stack.env["ETH_RPC_URL"]))
    hub_account = Account.from_key(Path(stack.env["HUB_PRIVATE_KEY_FILE"]).read_text().strip())
    funder = Account.from_key(Anvil.DEV_KEY)
    url = f"http://127.0.0.1:{stack.web_ports[0]}/api/hub"
    config = HubClient(url, UserKey.generate()).config()
    lock = threading.Lock()

    def wallet(tokens: int) -> tuple[Any, Any]:
        key = UserKey.generate()
        with lock:  # one funder account: its nonces must not race
            send_eth(w3, funder, key.address, 10**18)
            if tokens:
                mint_tokens(w3, hub_account, config["tokenAddress"], key.address, tokens)
        chain = ChannelManagerClient(Web3(Web3.HTTPProvider(stack.env["ETH_RPC_URL"])),
                                     config["contractAddress"], account=key.account,
                                     token_address=config["tokenAddress"])
        return Channel(HubClient(url, key), store=MemoryStateStore(), chain=chain, config=config), key

    def collateralize(channel: Any) -> None:
        channel.request_collateral()
        channel.wait_for(lambda s: s.balance_token_hub > 0 and not s.has_pending_ops, timeout=180)

    def make_pair(index: int) -> Pair:
        # the disjoint run and then the contended run spend from the same deposit
        (payer, payer_key), (recipient, _key) = wallets[index]
        payer.deposit(amount_token=2 * payments_each * amount + TOKEN)
        receives = index < receiving
        if receives:
            collateralize(payer)
        recipient.deposit(amount_wei=10**15)
        collateralize(recipient)
        return Pair(payer, recipient, payer_key, receives=receives)

    # Every wallet is funded before any collateral is asked for: minting is signed by the hub's
    # account, whose nonces the hub's own deposits take once collateral is requested ("nonce too
    # low" when the two overlapped).
    wallets = [(wallet(10 * TOKEN + 2 * payments_each * amount), wallet(0)) for _ in range(pairs)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(make_pair, range(pairs)))
    return made


def presign(pair: Pair, count: int, amount: int) -> None:
    """The payer's signed Payment updates for `count` payments, chained on its own state."""
    from hub.core import PaymentArgs, Signer, apply_update

    signer = Signer(bytes(pair.payer_key.account.key))
    state = pair.payer.state
    recipient = pair.recipient.user
    for _ in range(count):
        args = PaymentArgs(recipient="hub", amount_wei=0, amount_token=amount)
        state = signer.sign_channel_state(apply_update(state, "Payment", args, now=0), as_party="user")
        pair.signed.append({"meta": {}, "payments": [{
            "recipient": recipient, "type": "PT_CHANNEL",
            "amount": {"amountWei": "0", "amountToken": str(amount)}, "meta": {},
            "update": {"reason": "Payment", "args": args.to_json(),
                       "txCount": state.tx_count_global, "sigUser": state.sig_user}}]})


def auth_headers(url: str, key: Any) -> dict[str, str]:
    address = key.address.lower()
    nonce = httpx.get(f"{url}/nonce", headers={"x-address": address}).json()["nonce"]
    sig = Account.sign_message(encode_defunct(text=nonce), key.account.key).signature
    return {"x-address": address, "x-nonce": nonce, "x-signature": "0x" + bytes(sig).hex(),
            "content-type": "application/json"}


class Http:
    """The load generator's HTTP/1.1 client: one kept-alive connection on a blocking socket, each
    request written from prepared bytes, each response read with the least Python it needs (the
    status, Content-Length, Connection: close, Server-Timing). The load generator's threads share
    one interpreter and the machine's 2 cores with the servers they measure, so its CPU per
    payment is taken from theirs: http.client (headers parsed by the email package) cost about
    0.5 ms a payment, this about 0.2 ms. Baseline and this code are driven by the same client.
    A response with `Connection: close` (gunicorn's sync workers close every connection) closes
    the socket, and the next request opens a new one."""

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self.port, self.timeout = port, timeout
        self.sock: socket.socket | None = None
        self.buffer = b""

    def request(self, method: str, path: str, headers: bytes, body: bytes = b"") -> tuple[int, bytes, str]:
        """(status, body, the Server-Timing header) of one request; `headers` are prepared
        header lines (`name: value\r\n` each, see `header_lines`)."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        self.sock.sendall(b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%sContent-Length: %d\r\n\r\n%s"
                          % (method.encode(), path.encode(), headers, len(body), body))
        data = self.buffer
        while (end := data.find(b"\r\n\r\n")) < 0:
            data += self._recv()
        head = data[:end].lower()
        status = int(head[9:12])
        length = _header(head, b"content-length")
        if not length:
            raise RuntimeError(f"a response without Content-Length: {head[:300]!r}")
        stop = end + 4 + int(length)
        while len(data) < stop:
            data += self._recv()
        content, self.buffer = data[end + 4:stop], data[stop:]
        if _header(head, b"connection") == b"close":
            self.close()
        return status, content, _header(head, b"server-timing").decode()

    def _recv(self) -> bytes:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection in the middle of a response")
        return chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _header(head: bytes, name: bytes) -> bytes:
    """The value of header `name` in a lower-cased response head (b"" when absent)."""
    at = head.find(b"\n" + name + b":")
    if at < 0:
        return b""
    start = at + len(name) + 2
    stop = head.find(b"\r", start)
    return head[start:stop if stop >= 0 else len(head)].strip()


def header_lines(headers: dict[str, str]) -> bytes:
    return "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)  # open loop: from the scheduled time
    service: list[float] = field(default_factory=list)  # from the actual send
    server: list[float] = field(default_factory=list)  # Server-Timing app;dur, ms
    lateness: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # payments refused (non-200 at the end)
    thread_errors: list[str] = field(default_factory=list)  # exceptions in load threads
    retries: int = 0  # contended run: re-signed after the channel moved
    elapsed: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, *, due: float, started: float, finished: float, status: int, content: bytes,
               timing: str, open_loop: bool) -> None:
        with self.lock:
            if status == 200:
                self.latencies.append(finished - (due if open_loop else started))
                self.service.append(finished - started)
                if "dur=" in timing:
                    self.server.append(float(timing.split("dur=")[1].split(";")[0]))
                self.lateness.append(max(0.0, started - due) if open_loop else 0.0)
            else:
                self.errors.append(f"{status} {content[:200]!r}")

    def crashed(self, name: str) -> None:
        """Called from a load thread's `except`: the exception counts and fails the run."""
        import traceback

        with self.lock:
            self.thread_errors.append(f"{name}: {traceback.format_exc(limit=3)}")


def run_threads(result: Run, loops: list[Any]) -> None:
    threads = [threading.Thread(target=loop, name=f"payer-{i}") for i, loop in enumerate(loops)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run_phase(stack: Stack, pairs: list[Pair], *, rate: float | None, duration: float,
              start_index: dict[int, int]) -> Run:
    """Open loop at `rate` (each payer its own evenly spaced schedule), or closed loop when
    `rate` is None. Every payer sends its own payments in order (txCount chain)."""
    result = Run()
    t0 = time.perf_counter() + 0.5
    per_payer_interval = (len(pairs) / rate) if rate else 0.0

    def payer_loop(i: int, pair: Pair) -> None:
        conn = Http(stack.web_ports[i % len(stack.web_ports)])
        headers = header_lines(pair.headers)
        offset = per_payer_interval * i / len(pairs)
        try:
            n = 0
            while True:
                k = start_index[i]
                if k >= len(pair.signed):
                    return
                due = t0 + offset + n * per_payer_interval
                now = time.perf_counter()
                if due - t0 > duration:
                    return
                if rate and now < due:
                    time.sleep(due - now)
                if not rate and now - t0 > duration:
                    return
                body = json.dumps(pair.signed[k]).encode()
                started = time.perf_counter()
                status, content, timing = conn.request("POST", PURCHASE_PATH, headers, body)
                finished = time.perf_counter()
                start_index[i] = k + 1
                n += 1
                result.record(due=due, started=started, finished=finished, status=status,
                              content=content, timing=timing, open_loop=bool(rate))
        except Exception:
            result.crashed(f"payer {i}")
        finally:
            conn.close()

    run_threads(result, [lambda i=i, p=p: payer_loop(i, p) for i, p in enumerate(pairs)])
    result.elapsed = time.perf_counter() - t0
    return result


RACE_CODES = ("tx_count_global", "state_mismatch")


def after_purchase(signed: Any, content: bytes) -> Any:
    """The payer's state after an accepted purchase, as a wallet takes it from the answer's sync:
    its own payment, then the hub's payments to it that the hub held while it was paying
    (delivered in this answer, after its own; DELIVERY_YIELD_MS). Without this the next payment
    would be signed on a state the hub has moved past, and be refused as stale."""
    from hub.core import apply_update, parse_args

    state = signed
    for item in json.loads(content)["sync"]["updates"]:
        update = item.get("update") or {}
        count = update.get("txCount")
        if item.get("type") != "channel" or count is None or count <= state.tx_count_global:
            continue
        if update.get("reason") != "Payment" or count != state.tx_count_global + 1:
            return None  # anything else (a proposal, a gap): read the channel again
        state = apply_update(state, "Payment", parse_args("Payment", update["args"]), now=0).replace(
            sig_hub=update["sigHub"], sig_user=update.get("sigUser") or None)
    return state


def run_contended(stack: Stack, pairs: list[Pair], *, rate: float, duration: float,
                  amount: int) -> Run:
    """Open loop at `rate`: every payer pays, on its own schedule, one of two merchants (half of
    the payments) or another payer that receives. Payers sign on their latest state; when the
    hub refuses it as stale (a payment came in first) the payer re-reads its channel and signs
    again. The latency runs from the scheduled time to the accepted payment, retries included."""
    from hub.core import ChannelState, PaymentArgs, Signer, apply_update

    merchants = [pairs[0].recipient.user, pairs[1].recipient.user]
    receivers = [p.address for p in pairs if p.receives]
    result = Run()
    t0 = time.perf_counter() + 0.5
    per_payer_interval = len(pairs) / rate

    def payer_loop(i: int, pair: Pair) -> None:
        import random

        rng = random.Random(i)
        signer = Signer(bytes(pair.payer_key.account.key))
        offset = per_payer_interval * i / len(pairs)
        conn = Http(stack.web_ports[i % len(stack.web_ports)])
        headers = header_lines(pair.headers)

        def hub_state() -> ChannelState:
            status, body, _timing = conn.request("GET", f"/api/hub/channel/{pair.address}", headers)
            if status != 200:
                raise RuntimeError(f"channel read: {status} {body[:200]!r}")
            return ChannelState.from_json(json.loads(body)["state"])

        try:
            state = hub_state()
            n = 0
            while True:
                due = t0 + offset + n * per_payer_interval
                if due - t0 > duration:
                    return
                now = time.perf_counter()
                if now < due:
                    time.sleep(due - now)
                n += 1
                others = [r for r in receivers if r != pair.address]
                recipient = rng.choice(merchants) if rng.random() < 0.5 or not others else rng.choice(others)
                started = time.perf_counter()
                for attempt in range(200):
                    if attempt:
                        with result.lock:
                            result.retries += 1
                    if attempt or state is None:
                        state = hub_state()
                    args = PaymentArgs(recipient="hub", amount_wei=0, amount_token=amount)
                    signed = signer.sign_channel_state(apply_update(state, "Payment", args, now=0),
                                                       as_party="user")
                    body = json.dumps({"meta": {}, "payments": [{
                        "recipient": recipient, "type": "PT_CHANNEL", "meta": {},
                        "amount": {"amountWei": "0", "amountToken": str(amount)},
                        "update": {"reason": "Payment", "args": args.to_json(),
                                   "txCount": signed.tx_count_global, "sigUser": signed.sig_user}}]})
                    status, content, timing = conn.request("POST", PURCHASE_PATH, headers, body.encode())
                    if status == 200:
                        state = after_purchase(signed, content)
                        break
                    code = json.loads(content or b"{}").get("code") if status < 500 else None
                    if code not in RACE_CODES:
                        break
                result.record(due=due, started=started, finished=time.perf_counter(),
                              status=status, content=content, timing=timing, open_loop=True)
        except Exception:
            result.crashed(f"payer {i}")
        finally:
            conn.close()

    run_threads(result, [lambda i=i, p=p: payer_loop(i, p) for i, p in enumerate(pairs)])
    result.elapsed = time.perf_counter() - t0
    return result


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(name: str, run: Run) -> None:
    ms = [v * 1000 for v in run.latencies]
    done = len(ms)
    log(f"{name}: {done} payments in {run.elapsed:.1f} s = {done / run.elapsed:.1f} payments/s; "
        f"errors {len(run.errors)}; load-thread exceptions {len(run.thread_errors)}"
        + (f"; re-signed after a race {run.retries}" if run.retries else ""))
    if ms:
        since = "from the scheduled send" if any(run.lateness) or "open" in name else "from the send"
        log(f"{name}: latency ({since}) p50 {pct(ms, .50):.1f} ms, p90 {pct(ms, .90):.1f} ms, "
            f"p99 {pct(ms, .99):.1f} ms, max {max(ms):.1f} ms, mean {statistics.mean(ms):.1f} ms")
    if run.service and "open" in name:
        sv = [v * 1000 for v in run.service]
        log(f"{name}: latency from the actual send p50 {pct(sv, .50):.1f} ms, "
            f"p99 {pct(sv, .99):.1f} ms")
    if run.server:
        log(f"{name}: time inside the application (Server-Timing) p50 {pct(run.server, .50):.1f} ms, "
            f"p99 {pct(run.server, .99):.1f} ms")
    if run.lateness and any(run.lateness):
        log(f"{name}: load generator lateness p99 {pct([v * 1000 for v in run.lateness], .99):.1f} ms")
    for err in run.errors[:3]:
        log(f"{name}: error {err}")
    for err in run.thread_errors[:3]:
        log(f"{name}: load thread failed: {err}")


def verdict(name: str, run: Run) -> None:
    """The issue's target for the payer's request: >= 100 payments/s sustained, p50 <= 10 ms,
    p99 <= 50 ms (judged on what the client saw from the scheduled send time, errors counted as
    misses); a load thread that died fails it outright."""
    ms = [v * 1000 for v in run.latencies]
    rate = len(ms) / run.elapsed if run.elapsed else 0.0
    checks = {"rate >= 100/s": rate >= 100 * 0.995 and not run.errors,
              "p50 <= 10 ms": bool(ms) and pct(ms, .50) <= 10,
              "p99 <= 50 ms": bool(ms) and pct(ms, .99) <= 50,
              "no load-thread exceptions": not run.thread_errors}
    summary = ", ".join(f"{check} {'yes' if ok else 'NO'}" for check, ok in checks.items())
    log(f"{name}: target: {summary} -> {'met' if all(checks.values()) else 'missed'}")


def users_token_total() -> dict[str, int]:
    """Each channel's user token balance in its latest state, by user."""
    from hub.channels.models import Channel

    return {c.user.lower(): int(c.latest_update.balance_token_user)
            for c in Channel.objects.exclude(latest_update=None).select_related("latest_update")}


def consistency_check(before: dict[str, int]) -> bool:
    """The database after the runs: prints one line per check and returns whether all passed."""
    from django.db.models import Max, Q, Sum

    from hub.channels.models import Channel, ChannelUpdate
    from hub.channels.reconciliation import reconcile_channels
    from hub.ledger.models import LedgerEntry
    from hub.purchases.models import Payment

    checks: dict[str, tuple[bool, str]] = {}
    sums = {row["asset"]: int(row["total"]) for row in
            LedgerEntry.objects.values("asset").annotate(total=Sum("amount"))}
    checks["ledger balanced (every asset sums to 0)"] = (
        all(v == 0 for v in sums.values()), f"sums {sums}")
    latest = dict(ChannelUpdate.objects.filter(invalid__isnull=True).values("channel_id")
                  .annotate(top=Max("tx_count_global")).values_list("channel_id", "top"))
    wrong_heads = [c.user for c in Channel.objects.select_related("latest_update")
                   if (c.latest_update.tx_count_global if c.latest_update else None) != latest.get(c.pk)
                   or (c.latest_update is not None and c.latest_update.invalid is not None)]
    checks["channel heads are the latest valid updates"] = (
        not wrong_heads, f"{len(latest)} channels, wrong: {wrong_heads[:3]}")
    gaps, invalidated = [], 0
    for channel_id in latest:
        # every txCount from 1 up is taken by a state (an invalidated pending deposit keeps its
        # txCount, and the Invalidation after it takes the next one); the database allows one
        # valid state per txCount (hub_update_one_valid_per_tx_count), so none is signed twice
        rows = list(ChannelUpdate.objects.filter(channel_id=channel_id)
                    .values_list("tx_count_global", "invalid"))
        counts = sorted({count for count, _invalid in rows})
        invalidated += sum(1 for _count, invalid in rows if invalid is not None)
        valid = [count for count, invalid in rows if invalid is None]
        if counts != list(range(1, len(counts) + 1)) or len(valid) != len(set(valid)):
            gaps.append(channel_id)
    checks["txCounts without gap or duplicate"] = (
        not gaps, f"channels with gaps: {gaps[:3]}; invalidated states {invalidated}")
    report = reconcile_channels(check_chain=False)
    checks["each channel's ledger equals its latest state"] = (
        report.ok, f"{report.channels} channels, mismatches {report.mismatches[:2]}")
    after = users_token_total()
    moved: dict[str, int] = {}
    for row in Payment.objects.filter(type="PT_CHANNEL", status="completed").values("sender", "recipient").annotate(
            total=Sum("amount_token")):
        moved[row["sender"].lower()] = moved.get(row["sender"].lower(), 0) - int(row["total"])
        moved[row["recipient"].lower()] = moved.get(row["recipient"].lower(), 0) + int(row["total"])
    off = {u: (after.get(u, 0) - before.get(u, 0), moved.get(u, 0)) for u in set(after) | set(before)
           if after.get(u, 0) - before.get(u, 0) != moved.get(u, 0)}
    checks["conservation: users' balances moved exactly by the recorded payments"] = (
        not off and sum(after.values()) == sum(before.values()),
        f"{len(after)} users, total before {sum(before.values())} after {sum(after.values())}, "
        f"off: {list(off.items())[:3]}")
    negative = ChannelUpdate.objects.filter(
        Q(balance_token_hub__lt=0) | Q(balance_token_user__lt=0) | Q(balance_wei_hub__lt=0)
        | Q(balance_wei_user__lt=0)).count()
    checks["no negative balance in any state"] = (negative == 0, f"{negative} negative")
    for check, (ok, detail) in checks.items():
        log(f"consistency: {'PASS' if ok else 'FAIL'} {check} ({detail})")
    passed = all(ok for ok, _ in checks.values())
    log(f"consistency: {'pass' if passed else 'FAIL'}")
    return passed


def raw_costs(stack: Stack, iterations: int = 2000) -> tuple[float, float]:
    """What one payment costs at minimum: the signature work (1 recover of the payer's state,
    2 state hashes, 2 hub signatures) and one durable commit of equivalent writes, in seconds."""
    import psycopg

    from hub.core import PaymentArgs, Signer, apply_update, channel_state_hash, recover, zero_state

    payer, hub = Signer(secrets.token_bytes(32)), Signer(secrets.token_bytes(32))
    state = zero_state("0x" + "11" * 20, payer.address).replace(balance_token_user=10**24)
    new = apply_update(state, "Payment", PaymentArgs("hub", 0, 1), now=0)
    signed = payer.sign_channel_state(new, as_party="user")
    started = time.perf_counter()
    for _ in range(iterations):
        recover(channel_state_hash(signed), signed.sig_user)
        hub.sign_channel_state(signed, as_party="hub")
        hub.sign_channel_state(signed, as_party="hub")
    crypto = (time.perf_counter() - started) / iterations
    with psycopg.connect(stack.env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_chan (id int primary key, bal numeric(78,0))")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_upd (id bigserial primary key, chan int, "
                     "bal numeric(78,0), sig text)")
        conn.execute("INSERT INTO bench_chan VALUES (1, 0), (2, 0) ON CONFLICT DO NOTHING")
        times = []
        for _ in range(500):
            t = time.perf_counter()
            with conn.transaction():
                conn.execute("SELECT id FROM bench_chan WHERE id IN (1, 2) ORDER BY id FOR UPDATE")
                conn.execute("INSERT INTO bench_upd (chan, bal, sig) VALUES (1, 1, %s), (2, 1, %s)",
                             ["0x" + "ab" * 65, "0x" + "cd" * 65])
                conn.execute("UPDATE bench_chan SET bal = bal + 1 WHERE id IN (1, 2)")
            times.append(time.perf_counter() - t)
        sync = conn.execute("SHOW synchronous_commit").fetchone()
        fsync = conn.execute("SHOW fsync").fetchone()
    commit = statistics.median(times)
    log(f"raw: crypto per payment (1 recover + 2 hashes + 2 hub signatures) {crypto * 1000:.3f} ms "
        f"= {crypto * 1000 / 10 * 100:.1f}% of the 10 ms p50 limit")
    log(f"raw: one durable commit of equivalent writes (fsync={fsync[0] if fsync else '?'}, "
        f"synchronous_commit={sync[0] if sync else '?'}) p50 {commit * 1000:.3f} ms, "
        f"p99 {pct(times, .99) * 1000:.3f} ms = {commit * 1000 / 10 * 100:.1f}% of the limit")
    return crypto, commit


# --- The database checks run in a process of their own, with the stack's settings and against the
# code that stack serves: the benchmark itself never sets Django up, so it can drive two stacks
# (the baseline's and this code's) side by side.

DJANGO_ENV = ("DATABASE_URL", "REDIS_URL", "ETH_RPC_URL", "HUB_PRIVATE_KEY_FILE", "SPOKE_DEVDATA",
              "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "CONFIRMATIONS",
              "CHAIN_ID", "SPOKE_NO_DEVDATA", "LOG_LEVEL")


def django_call(stack: Stack, code: Path, name: str, arg: Any = None) -> Any:
    """`name(arg)` (users_token_total, consistency_check) run in a Django process of the stack."""
    env = {**os.environ, **{k: v for k, v in stack.env.items() if k in DJANGO_ENV},
           "DJANGO_SETTINGS_MODULE": "config.settings", "BENCH_CODE_ROOT": str(code)}
    out = subprocess.run([PY, str(Path(__file__).resolve()), "--django-call", name],
                         input=json.dumps(arg), cwd=code, env=env, capture_output=True, text=True,
                         check=False)
    sys.stdout.write("".join(line + "\n" for line in out.stdout.splitlines()
                             if not line.startswith("{\"result\"")))
    if out.returncode:
        raise RuntimeError(f"{name} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.splitlines()[-1])["result"]


def django_child(name: str) -> None:
    import django

    django.setup()
    arg = json.loads(sys.stdin.read() or "null")
    result = users_token_total() if name == "users_token_total" else consistency_check(arg)
    print(json.dumps({"result": result}), flush=True)


# --- The baseline: an older commit's code in a worktree of its own ---

def checkout(rev: str, work: Path) -> tuple[Path, str]:
    """A detached worktree of `rev` under `work` (removed by `checkout_remove`), and its label."""
    path = work / "baseline-code"
    label = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s", rev],
                           capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(path), rev],
                   capture_output=True, text=True, check=True)
    if (ROOT / "node_modules").exists():  # the contracts' build reads node_modules
        (path / "node_modules").symlink_to(ROOT / "node_modules")
    return path, label[:100]


def checkout_remove(path: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
                   capture_output=True, check=False)


def head_label() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"],
                         capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return (out[:100] or "this checkout") + (" (with uncommitted changes)" if dirty else "")


def profile_start(stack: Stack, seconds: float, out: Path) -> list[subprocess.Popen[bytes]]:
    """BENCH_PROFILE=dir: py-spy records each web worker process for `seconds` (collapsed stacks of
    the threads holding the GIL, i.e. Python's CPU time; one file per process; `py-spy` must be on
    PATH or beside the interpreter)."""
    spy = Path(PY).parent / "py-spy"
    web = [s for s in stack.services if s.name.startswith("web")]
    pids = []
    for service in web:
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(service.pid)],
                                  capture_output=True, text=True, check=False).stdout.split()
        pids += [int(p) for p in children] or [service.pid]
    out.mkdir(parents=True, exist_ok=True)
    log(f"profiling web processes {pids} for {seconds:.0f} s into {out}")
    return [subprocess.Popen([str(spy) if spy.exists() else "py-spy", "record", "--pid", str(pid),
                              "--duration", str(int(seconds)), "--rate", "250", "--format", "raw", "--gil",
                              "--output", str(out / f"{out.name}-{pid}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for pid in pids]


def rate_of(run: Run) -> float:
    return len(run.latencies) / run.elapsed if run.elapsed else 0.0


@dataclass
class Measured:
    """What one run of the benchmark measured (bench/figures/payments.py turns it into figures)."""
    open_loop: Run
    closed_loop: Run  # this code's closed-loop rounds, merged
    contended: Run
    consistent: bool
    crypto_ms: float  # 1 recover + 2 hashes + 2 hub signatures
    commit_ms: float  # one durable commit of equivalent writes, p50
    rate: float
    crashed: int
    label: str = ""
    baseline: Run | None = None  # the baseline's closed-loop rounds, merged
    baseline_label: str = ""
    rounds: list[tuple[float, float]] = field(default_factory=list)  # (baseline, this) per round

    @property
    def limit(self) -> float:
        """Payments/s one stream of crypto + durable commit allows: the raw limit."""
        return 1000 / (self.crypto_ms + self.commit_ms)

    @property
    def ratio(self) -> float | None:
        """This code's closed-loop rate over the baseline's, in the same run."""
        if self.baseline is None or not rate_of(self.baseline):
            return None
        return rate_of(self.closed_loop) / rate_of(self.baseline)

    @property
    def failed(self) -> bool:
        return bool(self.crashed) or not self.consistent


def merged(runs: list[Run]) -> Run:
    out = Run()
    for r in runs:
        out.latencies += r.latencies
        out.service += r.service
        out.server += r.server
        out.lateness += r.lateness
        out.errors += r.errors
        out.thread_errors += r.thread_errors
        out.elapsed += r.elapsed
    return out


def prepare(stack: Stack, pairs: int, per_payer: int, amount: int, label: str) -> list[Pair]:
    log(f"{label}: funding {pairs} payer/recipient pairs through the protocol")
    started = time.perf_counter()
    made = setup_pairs(stack, pairs, per_payer, amount, receiving=pairs // 2)
    log(f"{label}: funded in {time.perf_counter() - started:.1f} s; pre-signing {per_payer} "
        "payments per payer")
    for pair in made:
        presign(pair, per_payer, amount)
        pair.headers = auth_headers(f"http://127.0.0.1:{stack.web_ports[0]}/api/hub", pair.payer_key)
    return made


def measure(*, pairs: int = 16, rate: float = 100.0, duration: float = 30.0,
            max_duration: float = 15.0, web: int = 2, baseline: str | None = None,
            rounds: int = 3) -> Measured:
    """The whole benchmark. With `baseline` (a git revision), that commit's code is served by a
    second stack beside this one, and the closed loop runs `rounds` times on each, alternating
    (baseline, this, baseline, this, ...), each round `max_duration` seconds: the two are measured
    on the same machine in the same minutes, and the ratio of their rates is the figure."""
    become_subreaper()
    work = Path(tempfile.mkdtemp(prefix="spoke-bench-"))
    os.environ.update({"SPOKE_NO_DEVDATA": "1"})
    label = head_label()
    base_code: Path | None = None
    base_label = ""
    stacks: list[Stack] = []
    try:
        if baseline:
            base_code, base_label = checkout(baseline, work)
            log(f"baseline: {base_label}")
        log(f"this code: {label}")
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [pool.submit(start_stack, work / "this", web)]
            if base_code is not None:
                futures.append(pool.submit(start_stack, work / "base", web, base_code))
            for f in futures:
                stacks.append(f.result())
        stack = stacks[0]
        base_stack = stacks[1] if base_code is not None else None
        amount = 10**15
        closed_rounds = rounds if baseline else 1
        # enough for the open loop and for closed-loop rounds at up to 1200 payments/s (a payer
        # that runs out stops, which would show as a lower rate)
        per_payer = int(rate * (duration + 3) / pairs + 1200 * closed_rounds * max_duration / pairs) + 100
        made = prepare(stack, pairs, per_payer, amount, "this code")
        index = dict.fromkeys(range(len(made)), 0)
        base_made: list[Pair] = []
        base_index: dict[int, int] = {}
        if base_stack is not None:
            base_made = prepare(base_stack, pairs, per_payer, amount, "baseline")
            base_index = dict.fromkeys(range(len(base_made)), 0)
        before = django_call(stack, ROOT, "users_token_total")
        base_before = (django_call(base_stack, base_code, "users_token_total")  # type: ignore[arg-type]
                       if base_stack is not None else {})
        runs: list[Run] = []
        for who, st, ps, ix in (("this code", stack, made, index),
                                ("baseline", base_stack, base_made, base_index)):
            if st is not None:
                warm = run_phase(st, ps, rate=rate / 2, duration=3, start_index=ix)
                runs.append(warm)
                log(f"{who}: warm-up: {len(warm.latencies)} payments, {len(warm.errors)} errors, "
                    f"{len(warm.thread_errors)} load-thread exceptions")
        target = run_phase(stack, made, rate=rate, duration=duration, start_index=index)
        runs.append(target)
        report(f"disjoint open loop at {rate:.0f}/s", target)
        verdict("disjoint", target)
        if base_stack is not None:
            # the same open loop for the baseline (reported, no verdict), so that both stacks
            # go into the closed-loop rounds with the same history: with a shorter one, the same
            # code in the baseline's place ran 3 % slower, its PostgreSQL 0.18 ms a payment
            # costlier (plans cached while its tables were smaller)
            base_open = run_phase(base_stack, base_made, rate=rate, duration=duration,
                                  start_index=base_index)
            runs.append(base_open)
            report(f"baseline: disjoint open loop at {rate:.0f}/s", base_open)
        mine: list[Run] = []
        theirs: list[Run] = []
        pairs_of_rounds: list[tuple[float, float]] = []
        profile = os.environ.get("BENCH_PROFILE")
        # CPU used during the closed-loop rounds only: per side, by process group, and the load
        # generator's (this process: its threads drive whichever side is running)
        cpu_used: dict[str, dict[str, float]] = {"this code": {}, "baseline": {}}
        counted: dict[str, list[float]] = {"this code": [0.0, 0.0], "baseline": [0.0, 0.0]}

        def closed_round(who: str, st: Stack, ps: list[Pair], ix: dict[int, int], n: int) -> Run:
            spies = profile_start(st, max_duration - 1, Path(profile) / who.replace(" ", "-")) \
                if profile and n == 0 else []
            client, before = os.times(), st.cpu()
            run = run_phase(st, ps, rate=None, duration=max_duration, start_index=ix)
            after, client_after = st.cpu(), os.times()
            for k in after:
                cpu_used[who][k] = cpu_used[who].get(k, 0.0) + after[k] - before[k]
            counted[who][0] += (client_after.user + client_after.system) - (client.user + client.system)
            counted[who][1] += len(run.latencies)
            for spy in spies:
                spy.wait()
            return run

        for n in range(closed_rounds):
            if base_stack is not None:
                theirs.append(closed_round("baseline", base_stack, base_made, base_index, n))
            mine.append(closed_round("this code", stack, made, index, n))
            if base_stack is not None:
                pairs_of_rounds.append((rate_of(theirs[-1]), rate_of(mine[-1])))
                log(f"closed loop round {n + 1}/{closed_rounds}: baseline {rate_of(theirs[-1]):.1f}/s, "
                    f"this code {rate_of(mine[-1]):.1f}/s")
        runs += mine + theirs
        closed = merged(mine)
        report("disjoint closed loop (max)", closed)
        cpu_report("this code", cpu_used["this code"], *counted["this code"])
        base_closed = merged(theirs) if theirs else None
        if base_closed is not None:
            report("baseline: disjoint closed loop (max)", base_closed)
            cpu_report("baseline", cpu_used["baseline"], *counted["baseline"])
        contended = run_contended(stack, made, rate=rate, duration=duration, amount=amount)
        runs.append(contended)
        report(f"contended open loop at {rate:.0f}/s (2 merchants, "
               f"{sum(p.receives for p in made)} payers also receive)", contended)
        verdict("contended", contended)
        consistent = django_call(stack, ROOT, "consistency_check", before)
        if base_stack is not None:
            log("baseline's database:")
            consistent = django_call(base_stack, base_code, "consistency_check", base_before) and consistent  # type: ignore[arg-type]
        crypto, commit = raw_costs(stack)
        log(f"machine: {os.cpu_count()} CPUs (shared with whatever else runs: figures are noisy); "
            f"{SERVER} with {web} processes; "
            f"PostgreSQL {'BENCH_DATABASE_URL' if os.environ.get('BENCH_DATABASE_URL') else 'embedded'}; "
            f"payers {pairs}")
        crashed = sum(len(r.thread_errors) for r in runs)
        measured = Measured(target, closed, contended, consistent, crypto * 1000, commit * 1000,
                            rate, crashed, label=label, baseline=base_closed,
                            baseline_label=base_label, rounds=pairs_of_rounds)
        log(f"raw limit {measured.limit:.0f} payments/s = 1 / (crypto {crypto * 1000:.3f} ms + one "
            f"durable commit {commit * 1000:.3f} ms)")
        log(f"this code ({label}): closed loop {rate_of(closed):.1f} payments/s = "
            f"{rate_of(closed) / measured.limit:.2f} of the raw limit")
        if base_closed is not None:
            log(f"baseline ({base_label}): closed loop {rate_of(base_closed):.1f} payments/s = "
                f"{rate_of(base_closed) / measured.limit:.2f} of the raw limit")
            log(f"side by side: this code / baseline = {measured.ratio:.2f}x "
                f"(rounds: {', '.join(f'{b:.0f} vs {m:.0f}' for b, m in pairs_of_rounds)})")
        if measured.failed:
            log(f"run FAILED: {crashed} load-thread exceptions, consistency "
                f"{'pass' if consistent else 'FAIL'}")
        return measured
    finally:
        for st in stacks:
            st.stop()
        if base_code is not None:
            checkout_remove(base_code)
        subprocess.run(["rm", "-rf", str(work)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--max-duration", type=float, default=15.0,
                        help="seconds of each closed-loop round")
    parser.add_argument("--web", type=int, default=2)
    parser.add_argument("--baseline", metavar="REV",
                        help="also serve this git revision's code and compare closed loops")
    parser.add_argument("--rounds", type=int, default=3,
                        help="closed-loop rounds on each side with --baseline")
    parser.add_argument("--django-call", help=argparse.SUPPRESS)  # child: a database check
    options = parser.parse_args()
    if options.django_call:
        django_child(options.django_call)
        return
    measured = measure(pairs=options.pairs, rate=options.rate, duration=options.duration,
                       max_duration=options.max_duration, web=options.web,
                       baseline=options.baseline, rounds=options.rounds)
    raise SystemExit(1 if measured.failed else 0)


if __name__ == "__main__":
    main()
