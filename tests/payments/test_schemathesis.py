"""Schemathesis over every operation of /api/v1/schema/ with a secret key: no 5xx and no
response that contradicts the schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from payments import conf
from tests.payments.conftest import Shop

MAX_EXAMPLES = int(os.environ.get("SPOKE_SCHEMATHESIS_EXAMPLES", "25"))
ONLY = os.environ.get("SPOKE_SCHEMATHESIS_ONLY", "")  # a path prefix, to dig into one resource


@pytest.fixture
def keep_db_connection() -> Iterator[None]:
    """Like Django's test client: the WSGI app must not close the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_the_api_conforms_to_its_schema(shop: Shop, monkeypatch: pytest.MonkeyPatch,
                                        keep_db_connection: None) -> None:
    monkeypatch.setattr(conf, "API_RATE_PER_SECOND", 100_000.0)
    monkeypatch.setattr(conf, "API_RATE_BURST", 100_000)
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
    headers = {"Authorization": f"Bearer {shop.key}"}
    requests = 0
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if ONLY and not operation.path.startswith(ONLY):
            continue
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            nonlocal requests
            requests += 1
            case.call_and_validate(headers=headers)

        check()
    print(f"\nschemathesis: {operations} operations, {requests} requests")
    assert (operations >= 25 or ONLY) and requests >= operations
