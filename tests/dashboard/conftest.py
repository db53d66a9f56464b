from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache

from tests.chain_env import clear_chain_caches
from tests.dashboard.helpers import HUB_KEY


@pytest.fixture(autouse=True)
def _fresh_signin_counters() -> Iterator[None]:
    """Login throttling counts per IP too: every test starts with no failed sign-ins (this Redis
    database is the test run's own, SPOKE_TEST_REDIS_DB)."""
    cache.clear()
    yield


@pytest.fixture(autouse=True)
def hub_key(settings: object, tmp_path: Path) -> Iterator[Path]:
    """The hub key that signed the test payments, configured as the hub's key (receipts verify
    the hub's signature against its address; tests that need no key remove the setting)."""
    key_file = tmp_path / "hub.key"
    key_file.write_text(HUB_KEY.hex())
    settings.HUB_PRIVATE_KEY_FILE = key_file  # type: ignore[attr-defined]
    settings.HUB_KEYSTORE_FILE = None  # type: ignore[attr-defined]
    clear_chain_caches()
    yield key_file
    clear_chain_caches()
