"""Start-up guard shared by manage.py and asgi.py: a configuration error is one clear line."""

from __future__ import annotations

import sys

import django

from config.env import ConfigError


def setup_or_exit() -> None:
    try:
        import config.settings  # noqa: F401  (parse and validate the environment now)
    except ConfigError as exc:
        sys.stderr.write(f"spoke: configuration error: {exc}\n")
        raise SystemExit(2) from None
    django.setup()
