"""The HTTP server for the plain HTTP routes: granian serving `config.wsgi` (`python -m config.web`).
`./spoke up`'s second port and the payments benchmark (bench/payments_bench.py) both start it this
way, so the benchmark measures what a deployment runs. Environment: WEB_WORKERS (processes),
WEB_THREADS (threads per process that run Django), WEB_BIND (host:port; `--bind` wins).

Chosen by measurement against gunicorn's threaded workers (what served this before, 2 x 4 threads;
config/gunicorn.py, still the benchmark's BENCH_SERVER=gunicorn), the three on one stack and one
database, closed-loop rounds alternating between them (bench/payments_bench.py's client, 16
payers, 4 rounds of 6 s, load average 17-22 from other work): gunicorn 37.7 payments/s at 7.11 ms
of web-process CPU a payment; granian 2 x 4 threads 45.6/s at 6.00 ms; 2 x 8 threads 54.1/s at
6.05 ms. py-spy profiles of the web processes say why: gunicorn's own Python (its connection
poller, request parsing, response writing) held the GIL in 37% of the samples outside Django
(18% in an earlier run), granian's in 8% (1%): its HTTP side is Rust, beside the interpreter. Eight threads cost no more CPU a
payment than four and overlap more waits on PostgreSQL. WebSockets stay on daphne
(config/asgi.py): this server serves WSGI only."""

from __future__ import annotations

import argparse
import os


def options(bind: str | None = None) -> dict[str, object]:
    """granian's settings from the environment (and `bind`, host:port, over WEB_BIND)."""
    from granian.constants import HTTPModes, Interfaces

    host, _, port = (bind or os.environ.get("WEB_BIND", "127.0.0.1:8001")).rpartition(":")
    return {
        "target": "config.wsgi:application",
        "interface": Interfaces.WSGI,
        "address": host.strip("[]") or "127.0.0.1",
        "port": int(port),
        "workers": int(os.environ.get("WEB_WORKERS", "2")),
        # the threads that run the application in each process: while one waits for PostgreSQL
        # another runs; each keeps its own persistent database connection (config/wsgi.py), so
        # they live as long as the process (the idle timeout's maximum) instead of being
        # replaced, with a new connection, after 30 s without a request
        "blocking_threads": int(os.environ.get("WEB_THREADS", "8")),
        "blocking_threads_idle_timeout": 600,
        "http": HTTPModes.http1,  # behind a load balancer or on loopback: plain HTTP/1.1, kept alive
        "websockets": False,
        # a worker that dies (a crash in a C extension) is started again, as gunicorn's arbiter did
        "respawn_failed_workers": True,
        "log_access": False,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bind", help="host:port (default: WEB_BIND, else 127.0.0.1:8001)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from granian import Granian

    Granian(**options(args.bind)).serve()  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
