"""Benchmark: state pushes to subscribed WebSocket clients while the hub takes payments.

The stack as `./spoke up` runs it, privately: PostgreSQL (fsync on), Valkey, anvil with the real
contracts, daphne serving `config.asgi` (WebSockets through channels-redis), gunicorn with two
workers serving the protocol API, the Dramatiq worker and the scheduler. --pairs payer/recipient
pairs are funded through the real protocol (the Python SDK: on-chain deposits, hub collateral);
each recipient subscribes to /ws/channel/ (authenticated with a signed nonce, as the SDK does).
Then the payers pay their recipients PT_CHANNEL at --rate payments/s in total (open loop, each
payer on its own evenly spaced schedule, every user signature computed beforehand). Each payment
makes the hub sign a state in the recipient's channel and push it after commit; the latency is
from the payment's scheduled send time to the arrival of that state at the recipient's socket.

Target: p99 <= 100 ms at 100 payments/s.

    .venv/bin/python bench/push_bench.py [--pairs 8] [--rate 100] [--duration 20]
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.hotpath import PY, Outcome, bench_stack, load, log, pct
from stack.ports import free_port, wait_for_port

TARGET_P99_MS = 100.0
PURCHASE_PATH = "/api/hub/payments/purchase"


@dataclass
class Web:
    """What bench/payments_bench.py's setup helpers read of a stack."""
    env: dict[str, str]
    web_ports: list[int]


@dataclass
class Subscriber:
    """A recipient's /ws/channel/ socket: the arrival time of each Payment state pushed to it."""
    address: str
    arrivals: list[float] = field(default_factory=list)
    sequences: list[int] = field(default_factory=list)
    error: str = ""
    ready: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)


def subscribe(ws_port: int, http_port: int, key: Any, sub: Subscriber) -> None:
    from eth_account import Account
    from eth_account.messages import encode_defunct
    from websockets.sync.client import connect

    try:
        address = key.address.lower()
        nonce = httpx.get(f"http://127.0.0.1:{http_port}/api/hub/nonce",
                          headers={"x-address": address}).json()["nonce"]
        signature = "0x" + bytes(Account.sign_message(encode_defunct(text=nonce),
                                                      key.account.key).signature).hex()
        url = f"ws://127.0.0.1:{ws_port}/ws/channel/?address={address}&nonce={nonce}&signature={signature}"
        with connect(url, open_timeout=60, max_size=None) as ws:
            hello = json.loads(ws.recv(timeout=60))
            if hello.get("type") != "hello":
                raise RuntimeError(f"first message {hello}")
            sub.ready.set()
            while not sub.stop.is_set():
                try:
                    text = ws.recv(timeout=0.5)
                except TimeoutError:
                    continue
                arrived = time.perf_counter()
                message = json.loads(text)
                update = message.get("update") or {}
                if message.get("type") == "channel_update" and update.get("reason") == "Payment":
                    sub.arrivals.append(arrived)
                    sub.sequences.append(int(message.get("seq", 0)))
    except Exception as exc:
        sub.error = f"{type(exc).__name__}: {exc}"
        sub.ready.set()


def pay(http_port: int, pairs: list[Any], rate: float,
        duration: float) -> tuple[list[list[float]], list[list[float]], list[str]]:
    """Open loop: payer i sends its k-th payment at t0 + offset_i + k * interval. Returns each
    pair's scheduled times of accepted payments, the times their answers were read, and the
    refusals."""
    t0 = time.perf_counter() + 0.5
    interval = len(pairs) / rate
    scheduled: list[list[float]] = [[] for _ in pairs]
    answered: list[list[float]] = [[] for _ in pairs]
    errors: list[str] = []

    def loop(i: int, pair: Any) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
        offset = interval * i / len(pairs)
        try:
            for k, body in enumerate(pair.signed):
                due = t0 + offset + k * interval
                if due - t0 > duration:
                    return
                now = time.perf_counter()
                if now < due:
                    time.sleep(due - now)
                conn.request("POST", PURCHASE_PATH, body=json.dumps(body), headers=pair.headers)
                response = conn.getresponse()
                content = response.read()
                if response.status == 200:
                    scheduled[i].append(due)
                    answered[i].append(time.perf_counter())
                else:
                    errors.append(f"{response.status} {content[:200]!r}")
                    return  # the rest of this payer's chain of signed states no longer applies
        except Exception as exc:
            errors.append(f"payer {i}: {type(exc).__name__}: {exc}")
        finally:
            conn.close()

    threads = [threading.Thread(target=loop, args=(i, p)) for i, p in enumerate(pairs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return scheduled, answered, errors


def measure(argv: list[str] | None = None) -> Outcome:
    """Run the benchmark (`argv`: its command-line options) and return its figures and checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--duration", type=float, default=20.0)
    options = parser.parse_args(argv)
    with bench_stack("push", chain=True) as stack:
        from bench.payments_bench import auth_headers, presign, setup_pairs

        ws_port, http_port = free_port(), free_port()
        bin_dir = Path(PY).parent
        stack.service("web", [str(bin_dir / "daphne"), "-b", "127.0.0.1", "-p", str(ws_port),
                              "config.asgi:application"])
        stack.service("http", [str(bin_dir / "gunicorn"), "-b", f"127.0.0.1:{http_port}", "-w", "2",
                               "--no-control-socket", "config.wsgi:application"])
        stack.service("worker", [PY, "manage.py", "rundramatiq", "--processes", "1", "--threads", "4"])
        stack.service("scheduler", [PY, "manage.py", "crontab"])
        for port in (ws_port, http_port):
            if not wait_for_port(port, timeout=120):
                raise SystemExit(f"port {port} did not open; see {stack.work}/logs")
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{http_port}/api/hub/config", timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the API does not answer; see {stack.work}/logs")
        stack.manage("shell", "-c", "from hub.rates.models import RateSource; "
                     "RateSource.objects.create(kind='operator', operator_rate='200'); "
                     "from hub.rates.services import rate_refresh; rate_refresh()")
        amount = 10**15
        per_payer = int(options.rate * options.duration / options.pairs) + 50
        started = time.perf_counter()
        pairs = setup_pairs(Web(stack.env, [http_port]), options.pairs, per_payer, amount, receiving=0)
        log(f"funded {options.pairs} pairs in {time.perf_counter() - started:.1f} s; "
            f"pre-signing {per_payer} payments per payer")
        for pair in pairs:
            presign(pair, per_payer, amount)
            pair.headers = auth_headers(f"http://127.0.0.1:{http_port}/api/hub", pair.payer_key)
        subs = []
        for pair in pairs:
            sub = Subscriber(pair.recipient.user.lower())
            threading.Thread(target=subscribe, args=(ws_port, http_port, pair.recipient.key, sub),
                             daemon=True).start()
            subs.append(sub)
        outcome = Outcome()
        for sub in subs:
            sub.ready.wait(120)
        if not outcome.check("every recipient subscribed", all(s.ready.is_set() and not s.error for s in subs),
                             "; ".join(s.error for s in subs if s.error)[:300]):
            return outcome
        scheduled, answered, errors = pay(http_port, pairs, options.rate, options.duration)
        sent = sum(len(s) for s in scheduled)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(len(sub.arrivals) < len(s) for sub, s in zip(subs, scheduled, strict=False)):
            time.sleep(0.05)
        for sub in subs:
            sub.stop.set()
        latencies = [(arrived - due) * 1000 for sub, s in zip(subs, scheduled, strict=False)
                     for due, arrived in zip(s, sub.arrivals, strict=False)]
        received = sum(len(sub.arrivals) for sub in subs)
        elapsed = options.duration
        log(f"{sent} payments accepted at {sent / elapsed:.0f}/s ({len(errors)} refused); "
            f"{received} pushes received; push latency from the scheduled send p50 "
            f"{pct(latencies, .5):.1f} ms, p99 {pct(latencies, .99):.1f} ms, max "
            f"{max(latencies, default=float('nan')):.1f} ms ({load()})")
        # where the time went: the payment request (scheduled send to its answer, the purchase
        # path and any queueing behind earlier requests) and the push itself (the answer to the
        # state's arrival; negative when the push overtook the answer)
        requests = [(a - due) * 1000 for s, ans in zip(scheduled, answered, strict=True)
                    for due, a in zip(s, ans, strict=True)]
        legs = [(arrived - a) * 1000 for sub, ans in zip(subs, answered, strict=False)
                for a, arrived in zip(ans, sub.arrivals, strict=False)]
        log(f"of which the payment request (scheduled send to answer) p50 {pct(requests, .5):.1f} ms, "
            f"p99 {pct(requests, .99):.1f} ms; the push after the answer p50 {pct(legs, .5):.1f} ms, "
            f"p99 {pct(legs, .99):.1f} ms")
        outcome.check("no payment refused", not errors, "; ".join(errors[:2]))
        outcome.check("each accepted payment's state reached its recipient's socket, once",
                      all(len(sub.arrivals) == len(s) for sub, s in zip(subs, scheduled, strict=False)),
                      f"{received} of {sent}")
        outcome.check("push sequence numbers increase without a repeat",
                      all(b > a for sub in subs for a, b in zip(sub.sequences, sub.sequences[1:], strict=False)))
        outcome.figure(f"WebSocket state push p99 at {options.rate:.0f} payments/s", pct(latencies, .99),
                       "ms", TARGET_P99_MS, higher_is_better=False)
        return outcome


def main() -> None:
    measure().exit()


if __name__ == "__main__":
    main()
