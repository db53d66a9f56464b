from __future__ import annotations

import logging
import sys

from django.apps import AppConfig

logger = logging.getLogger(__name__)

# Python's own default is 1000; a little headroom for deep but legitimate call chains (Django
# templates, web3's ABI codecs). py_ecc sets 100 000 at import, far past what the C stack can
# hold, so one deeply nested input would crash the process instead of raising RecursionError.
RECURSION_LIMIT = 2000


def reset_recursion_limit() -> int:
    """Import the library that raises the limit (once per process), then put the limit back.
    Runs in every process through this app's ready(): daphne, gunicorn, the Dramatiq worker,
    the scheduler, manage.py and the tests."""
    try:
        import py_ecc  # noqa: F401  (pulled in by eth_account; raises the limit at import)
    except ImportError:  # pragma: no cover - a dependency of eth_account
        pass
    sys.setrecursionlimit(RECURSION_LIMIT)
    return sys.getrecursionlimit()


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        limit = reset_recursion_limit()
        logger.info("spoke: Python recursion limit %d", limit)
