"""Schemathesis over every operation of the hub API's OpenAPI document (/api/hub/schema/),
signed in through the nonce/signature flow, with schema-valid and schema-invalid requests: no 5xx,
every invalid request refused, every status and body as documented, the error shape
{error, code, message} on every refusal."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.specs.openapi.checks import positive_data_acceptance

from config.hub_urls import urlpatterns
from tests.chain_env import ChainEnv
from tests.hub.api.user_sim import UserSim

pytestmark = [pytest.mark.django_db(transaction=True)]

MAX_EXAMPLES = int(os.environ.get("SPOKE_SCHEMATHESIS_EXAMPLES", "25"))
# A schema-valid request may still be refused 400 by the hub: a signature, a txCount or a
# balance is checked against the channel, which no schema can express. Every other check runs.
EXCLUDED_CHECKS = [positive_data_acceptance]


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


def test_the_document_describes_every_route_of_the_hub_api() -> None:
    document = Client().get("/api/hub/schema/?format=json").json()
    documented = {(path, method.upper()) for path, item in document["paths"].items()
                  for method in item if method != "parameters"}
    routed = set()
    for pattern in urlpatterns:
        methods = getattr(pattern.callback, "protocol_methods", ())
        regex = str(pattern.pattern)
        if regex in (r"^[\s\S]*$", "schema/", "featureflags"):
            continue  # the JSON 404, this document, the lower-case alias of featureFlags
        routed |= {(regex, m) for m in methods}
    assert len(documented) == len(routed) == 32
    yaml_response = Client().get("/api/hub/schema/")
    assert yaml_response.status_code == 200 and yaml_response["Content-Type"].startswith("application/yaml")


def test_the_hub_api_conforms_to_its_schema(hub_chain: ChainEnv, keep_db_connection: None) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    sim.login()
    schema = schemathesis.openapi.from_wsgi("/api/hub/schema/?format=json", get_wsgi_application())
    # The hub ignores query parameters it does not know (as the original hub did; clients send
    # extras): an unknown one does not make a request invalid.
    schema.config.generation.update(allow_extra_parameters=False)
    requests = 0
    operations = 0
    negated = 0
    statuses: set[int] = set()
    modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
    for result, mode in [(r, m) for r in schema.get_all_operations() for m in modes]:
        operation = result.ok()
        operations += mode == schemathesis.GenerationMode.POSITIVE
        public = operation.definition.raw.get("security") == []
        positive = mode == schemathesis.GenerationMode.POSITIVE

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            nonlocal requests
            requests += 1
            for name in ("user", "sender"):  # the signed-in user's own routes, mostly
                if name in (case.path_parameters or {}) and requests % 4 and positive:  # noqa: B023
                    case.path_parameters[name] = sim.address
            headers = None if public else dict(sim.headers)  # noqa: B023 (run in this iteration)
            response = case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)
            statuses.add(response.status_code)

        if mode == schemathesis.GenerationMode.POSITIVE:
            check()
            continue
        try:
            check()
            negated += 1
        except Unsatisfiable:  # nothing to make invalid: no parameters and no body (config, ...)
            assert not operation.path_parameters and not operation.query and not list(operation.body)
    print(f"\nschemathesis (hub): {operations} operations ({negated} also with invalid data), "
          f"{requests} requests, statuses {sorted(statuses)}")
    assert operations == 32 and negated >= 20  # the 30 channel routes + the two liabilities routes and requests >= operations
    assert 200 in statuses and 400 in statuses and 403 in statuses
