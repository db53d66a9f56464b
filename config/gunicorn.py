"""gunicorn's settings for the HTTP routes (`gunicorn -c config/gunicorn.py config.wsgi:application`):
what served `./spoke up`'s second port before granian (config/web.py, which says why it replaced
it), kept as the payments benchmark's alternative (`BENCH_SERVER=gunicorn`). Environment: the same
WEB_WORKERS (processes), WEB_THREADS (threads per process), WEB_BIND (address; `-b` wins)."""

from __future__ import annotations

import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8001")
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
worker_class = "gthread" if threads > 1 else "sync"
keepalive = 5
control_socket_disable = True  # several instances on one machine would share the socket
