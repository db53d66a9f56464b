"""WSGI entry point (for a WSGI server in front of the plain HTTP routes, e.g. the protocol API's
hot path); WebSockets need the ASGI application (config/asgi.py, served by daphne)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A WSGI worker serves one request at a time per long-lived thread: a persistent connection per
# thread is cheaper than taking one from the pool for every request (0.6 ms a payment, measured
# with bench/payments_bench.py). The ASGI server keeps the pool (config/settings.py).
os.environ.setdefault("DB_POOL_SIZE", "0")

from config.startup import setup_or_exit

setup_or_exit()

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

# The URL configuration is imported by the first request otherwise (the merchant API's documentation
# pulls in a Markdown parser): about a second of the first request in each web process, and in
# the benchmark's measured window when a worker had not served one yet. Load it here, at start-up.
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
