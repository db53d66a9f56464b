"""WSGI entry point (for a WSGI server in front of the plain HTTP routes, e.g. the protocol API's
hot path); WebSockets need the ASGI application (config/asgi.py, served by daphne)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from config.startup import setup_or_exit

setup_or_exit()

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
