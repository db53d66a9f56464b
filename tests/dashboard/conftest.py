from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_signin_counters() -> Iterator[None]:
    """Login throttling counts per IP too: every test starts with no failed sign-ins (this Redis
    database is the test run's own, SPOKE_TEST_REDIS_DB)."""
    cache.clear()
    yield
