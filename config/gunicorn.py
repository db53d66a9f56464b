"""gunicorn's settings for the HTTP routes (`gunicorn -c config/gunicorn.py config.wsgi:application`):
`./spoke up`'s second port and the payments benchmark (bench/payments_bench.py) both serve with it,
so the benchmark measures what a deployment runs. Environment: WEB_WORKERS (processes), WEB_THREADS
(threads per process), WEB_BIND (address; `-b` on the command line wins).

The shape was chosen by measurement (bench/payments_bench.py, closed loop, 2 cores): see the
comments at each value."""

from __future__ import annotations

import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
keepalive = 5
control_socket_disable = True  # several instances on one machine would share the socket
