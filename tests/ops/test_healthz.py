"""/healthz: 200 when database, Redis, chain, contracts and worker are healthy; 503 naming what is
down, and back to 200 when it recovers."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from ops.services import heartbeat_record
from ops.tasks import WORKER_HEARTBEAT
from stack.embedded import EmbeddedValkey
from tests.chain_env import ChainEnv

pytestmark = [pytest.mark.chain, pytest.mark.django_db]


def test_healthz_is_200_when_everything_is_up(hub_chain: ChainEnv) -> None:
    heartbeat_record(name=WORKER_HEARTBEAT)
    response = Client().get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok" and body["down"] == []
    assert body["chain"]["chain_id"] == 31337
    assert body["contracts"]["channel_manager"]["address"] == hub_chain.deployment.channel_manager


def test_healthz_names_redis_when_it_is_down_and_recovers(hub_chain: ChainEnv, settings: object,
                                                          tmp_path: Path) -> None:
    heartbeat_record(name=WORKER_HEARTBEAT)
    valkey = EmbeddedValkey(tmp_path / "valkey", persist=False).start()
    port = valkey.port
    settings.REDIS_URL = valkey.url(0)  # type: ignore[attr-defined]
    assert Client().get("/healthz").status_code == 200
    valkey.stop()
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["down"] == ["redis"]
    back = EmbeddedValkey(tmp_path / "valkey", port=port, persist=False).start()
    try:
        response = Client().get("/healthz")
        assert response.status_code == 200, response.json()
    finally:
        back.stop()


def test_healthz_names_a_stale_worker(hub_chain: ChainEnv) -> None:
    response = Client().get("/healthz")  # no heartbeat was ever written
    assert response.status_code == 503
    assert response.json()["down"] == ["worker"]


def test_healthz_names_the_chain_when_the_node_is_unreachable(hub_chain: ChainEnv, settings: object) -> None:
    from tests.chain_env import clear_chain_caches

    heartbeat_record(name=WORKER_HEARTBEAT)
    settings.ETH_RPC_URL = "http://127.0.0.1:9"  # type: ignore[attr-defined]
    clear_chain_caches()
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert set(response.json()["down"]) == {"chain", "contracts", "checkout"}
