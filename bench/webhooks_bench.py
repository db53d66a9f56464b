"""Benchmark: webhook deliveries per second by one Dramatiq worker process to a local receiver.

A private PostgreSQL (fsync on) and Valkey; one real worker process as `./spoke up` runs it
(`manage.py rundramatiq --processes 1 --threads 4`); a merchant with one endpoint pointing at a
receiver in this process (loopback, allowed by WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS) that checks
every request's Spoke-Signature against the endpoint's secret and answers 200. N events are
recorded through `event_record` (the path every merchant event takes: the delivery rows are
written with the events, their first attempts sent after commit), and the clock runs from that
commit until every delivery has succeeded. Each delivery is one signed POST and the worker's
two transactions (the lease on the row, then the attempt's log and outcome).

Target: >= 200 deliveries/s per worker process.

    .venv/bin/python bench/webhooks_bench.py [--events 3000] [--threads 4] [--receiver-latency-ms 0]
"""

from __future__ import annotations

import argparse
import hmac
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.hotpath import PY, Outcome, bench_stack, load, log, py_spy, py_spy_report, tree_cpu

TARGET_PER_SECOND = 200.0


class Receiver:
    """A merchant's webhook receiver on loopback: verifies each signature, records the delivery."""

    def __init__(self, latency_ms: float = 0.0) -> None:
        self.secret = ""
        self.lock = threading.Lock()
        self.deliveries: dict[str, int] = {}  # Spoke-Delivery-Id -> times received
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The answer is one write with Nagle off, as a production server sends it. The
            # default (headers, then the body, Nagle on) holds the body back until the worker's
            # delayed ACK of the headers: 40 ms per delivery on loopback, which was the receiver's
            # pace, not the worker's (68/s with four threads).
            disable_nagle_algorithm = True
            wbufsize = -1  # buffered: the status line, headers and body leave in one send

            def do_POST(self) -> None:
                from payments.webhooks.signing import sign

                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if latency_ms:
                    time.sleep(latency_ms / 1000)  # a receiver farther away, or slower
                parts = dict(p.split("=", 1) for p in self.headers.get("Spoke-Signature", "").split(","))
                good = "v1" in parts and hmac.compare_digest(
                    parts["v1"], sign(body, receiver.secret, int(parts.get("t", "0"))))
                with receiver.lock:
                    if good:
                        key = self.headers.get("Spoke-Delivery-Id", "")
                        receiver.deliveries[key] = receiver.deliveries.get(key, 0) + 1
                    else:
                        receiver.bad_signatures += 1
                self.send_response(200 if good else 400)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                self.wfile.flush()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def received(self) -> int:
        with self.lock:
            return len(self.deliveries)


def record_events(merchant_id: int, n: int, offset: int) -> None:
    """`n` events in one transaction: their deliveries' messages are queued at its commit, so the
    worker starts with all of them waiting (recording them takes longer than delivering them on a
    loaded machine, and the figure is the worker's pace, not the recording's)."""
    from django.db import transaction

    from payments.events.services import event_record

    with transaction.atomic():
        for i in range(n):
            event_record(type="invoice.created", merchant_id=merchant_id, data={"object": {
                "id": f"inv_{offset + i:024x}", "object": "invoice", "amount": str(10**18 + i)}})


def wait_until(condition: object, timeout: float, poll: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(poll)
    return False


def measure(argv: list[str] | None = None) -> Outcome:
    """Run the benchmark (`argv`: its command-line options) and return its figures and checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--receiver-latency-ms", type=float, default=0.0,
                        help="the receiver answers this much later (a remote or slow receiver)")
    parser.add_argument("--profile", action="store_true", help="sample the worker with py-spy")
    options = parser.parse_args(argv)
    n = options.events
    with bench_stack("webhooks", extra_env={"WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS": "true"}) as stack:
        from django.db.models import Max, Min

        from payments.merchants.services import merchant_create
        from payments.webhooks.models import WebhookDelivery
        from payments.webhooks.services import endpoint_create

        receiver = Receiver(options.receiver_latency_ms)
        merchant = merchant_create(name="Bench shop", addresses=["0x" + "ab" * 20])
        endpoint = endpoint_create(merchant_id=merchant.pk, url=f"http://127.0.0.1:{receiver.port}/hook",
                                   event_types=["*"])
        receiver.secret = endpoint.secret
        worker = stack.service("worker", [PY, "manage.py", "rundramatiq", "--processes", "1",
                                          "--threads", str(options.threads)])
        outcome = Outcome()
        record_events(merchant.pk, 20, 0)  # warm-up: the worker has started when these arrive
        if not outcome.check("the worker delivered the warm-up events",
                             wait_until(lambda: receiver.received() >= 20, timeout=300)):
            return outcome

        def succeeded() -> int:
            return WebhookDelivery.objects.filter(state=WebhookDelivery.State.SUCCEEDED).count()

        warm_last = WebhookDelivery.objects.aggregate(m=Max("pk"))["m"]
        postgres = stack.servers[0].proc.pid
        cpu0 = {"worker": tree_cpu(worker.pid), "postgres": tree_cpu(postgres),
                "bench (recording, receiver)": time.process_time()}
        profiler = py_spy(worker.pid, stack.work / "worker.prof") if options.profile else None
        started = time.perf_counter()
        record_events(merchant.pk, n, 20)
        recorded = time.perf_counter()
        done = wait_until(lambda: succeeded() >= n + 20, timeout=max(120.0, n / 10), poll=0.02)
        elapsed = time.perf_counter() - started
        cpu = {"worker": tree_cpu(worker.pid) - cpu0["worker"],
               "postgres": tree_cpu(postgres) - cpu0["postgres"],
               "bench (recording, receiver)": time.process_time() - cpu0["bench (recording, receiver)"]}
        if profiler is not None:
            py_spy_report(profiler, stack.work / "worker.prof")
        # the worker's own pace: from its first attempt of these deliveries to the last success
        # (the events are queued at one commit, so the queue never runs dry)
        window = (WebhookDelivery.objects.filter(pk__gt=warm_last)
                  .aggregate(first=Min("last_attempt_at"), last=Max("completed_at")))
        span = (window["last"] - window["first"]).total_seconds() if done else elapsed
        rate = n / span
        log(f"{n} events recorded in {recorded - started:.1f} s; all {n} deliveries succeeded "
            f"{elapsed:.1f} s after recording began ({n / elapsed:.0f}/s end to end); the worker "
            f"took {span:.1f} s from its first attempt to the last success = {rate:.0f} deliveries/s "
            f"(one worker process, {options.threads} threads, receiver latency "
            f"{options.receiver_latency_ms:g} ms; {load()})")
        outcome.check("every delivery succeeded", done, f"{succeeded()} of {n + 20}")
        outcome.check("the receiver got each delivery once, every signature valid",
                      receiver.received() == n + 20 and receiver.bad_signatures == 0
                      and max(receiver.deliveries.values()) == 1,
                      f"{receiver.received()} received, {receiver.bad_signatures} bad signatures")
        log("CPU seconds used meanwhile: " + ", ".join(f"{k} {v:.1f} s" for k, v in cpu.items())
            + f"; worker {cpu['worker'] / n * 1000:.2f} ms and PostgreSQL "
            f"{cpu['postgres'] / n * 1000:.2f} ms per delivery")
        outcome.figure("webhook deliveries per worker process", rate, "/s", TARGET_PER_SECOND,
                       higher_is_better=True, detail=f"wall clock, receiver latency "
                       f"{options.receiver_latency_ms:g} ms, {load()}")
        # what one worker process does with a core of its own: the machine is shared, so the
        # wall-clock rate above is what was left over; this is the worker's own cost
        outcome.figure("webhook deliveries per CPU-second of the worker process",
                       n / cpu["worker"] if cpu["worker"] else float("inf"), "/s", TARGET_PER_SECOND,
                       higher_is_better=True,
                       detail=f"worker {cpu['worker']:.1f} CPU-s, PostgreSQL {cpu['postgres']:.1f} CPU-s "
                       f"for {n} deliveries")
        receiver.server.shutdown()
        return outcome


def main() -> None:
    measure().exit()


if __name__ == "__main__":
    main()
