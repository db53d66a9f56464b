"""Browser tests of the link page share the link tests' secret scan (tests/linkpay/secret_scan.py)."""

from __future__ import annotations

from tests.linkpay.conftest import (  # noqa: F401  (hooks and fixtures)
    _fresh_guess_limits,
    pytest_configure,
    pytest_runtest_setup,
    pytest_runtest_teardown,
    pytest_sessionfinish,
)
