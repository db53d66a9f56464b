"""The public status page (/status/) and its JSON form for monitors: no sign-in, the stable
schema, chain ingestion lag against a real anvil, the worker heartbeat going stale, webhook
delivery health, and open alarms shown as public incidents without their messages or ids."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hub.chain.ingest import events_poll
from ops.models import Alarm, Heartbeat
from ops.services import alarm_raise, heartbeat_record
from ops.tasks import WORKER_HEARTBEAT
from payments.events.models import Event
from payments.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.chain_env import ChainEnv
from tests.dashboard.helpers import make_team

pytestmark = pytest.mark.django_db

TOP_LEVEL = {"schema", "generated_at", "status", "components", "incidents", "liabilities"}
COMPONENTS = {"api", "chain_ingestion", "worker", "webhooks"}


@pytest.fixture(autouse=True)
def _uncached(settings: Any) -> None:
    settings.STATUS_CACHE_SECONDS = 0


def status_json(client: Client | None = None) -> dict[str, Any]:
    response = (client or Client()).get("/status.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def test_the_json_has_the_stable_schema_and_needs_no_sign_in(settings: Any) -> None:
    settings.CHANNEL_MANAGER_ADDRESS = ""
    heartbeat_record(name=WORKER_HEARTBEAT)
    body = status_json()
    assert set(body) == TOP_LEVEL and set(body["components"]) == COMPONENTS
    assert body["schema"] == "spoke.status/1"
    assert body["components"]["api"] == {"status": "ok", "database": "ok"}
    assert body["components"]["worker"]["status"] == "ok"
    assert body["components"]["chain_ingestion"]["status"] == "unavailable"  # no contract here
    assert body["liabilities"]["status"] == "not_yet_published"
    assert body["incidents"] == []
    assert body["status"] == "degraded"  # the chain is unavailable
    # the same report at /status/?format=json
    other = Client().get("/status/?format=json").json()
    for report in (body, other):  # the clock moves between the two requests
        del report["generated_at"], report["components"]["worker"]["age_seconds"]
    assert other == body


@pytest.mark.chain
def test_everything_up_is_operational_with_the_ingestion_lag_in_blocks_and_seconds(hub_chain: ChainEnv) -> None:
    heartbeat_record(name=WORKER_HEARTBEAT)
    events_poll()  # the ingester catches up with the head
    body = status_json()
    chain = body["components"]["chain_ingestion"]
    assert chain["status"] == "ok" and chain["blocks_behind"] == 0 and chain["seconds_behind"] == 0, chain
    assert chain["head_block"] == hub_chain.w3.eth.block_number
    assert body["status"] == "operational", body
    for _ in range(3):
        hub_chain.mine(seconds=40)
    chain = status_json()["components"]["chain_ingestion"]
    assert chain["blocks_behind"] == 3 and chain["seconds_behind"] >= 120, chain
    page = Client().get("/status/").content.decode()
    assert re.search(r'id="chain-lag">3 blocks, \d+ s behind', page), page


@pytest.mark.chain
def test_a_lag_past_the_threshold_is_lagging(hub_chain: ChainEnv, settings: Any) -> None:
    heartbeat_record(name=WORKER_HEARTBEAT)
    events_poll()
    settings.STATUS_CHAIN_LAG_SECONDS = 60
    hub_chain.mine(seconds=120)
    body = status_json()
    assert body["components"]["chain_ingestion"]["status"] == "lagging"
    assert body["status"] == "degraded"


def test_a_stale_heartbeat_shows_the_worker_stale(settings: Any) -> None:
    settings.CHANNEL_MANAGER_ADDRESS = ""
    heartbeat_record(name=WORKER_HEARTBEAT)
    Heartbeat.objects.filter(name=WORKER_HEARTBEAT).update(beat_at=timezone.now() - timedelta(minutes=10))
    worker = status_json()["components"]["worker"]
    assert worker["status"] == "stale" and worker["age_seconds"] >= 600
    assert worker["stale_after_seconds"] == settings.WORKER_HEARTBEAT_STALE_SECONDS
    page = Client().get("/status/").content.decode()
    assert 'data-component="stale"' in page and "Stale" in page


def test_no_heartbeat_at_all_is_not_reporting(settings: Any) -> None:
    settings.CHANNEL_MANAGER_ADDRESS = ""
    assert status_json()["components"]["worker"] == {
        "status": "missing", "last_beat": None, "age_seconds": None,
        "stale_after_seconds": settings.WORKER_HEARTBEAT_STALE_SECONDS}


def test_open_alarms_are_incidents_without_their_messages_keys_or_ids(settings: Any) -> None:
    settings.CHANNEL_MANAGER_ADDRESS = ""
    heartbeat_record(name=WORKER_HEARTBEAT)
    secretish = "0xdeadbeef" + "ab" * 16
    critical = alarm_raise(kind="low_reserve", key=f"token-{secretish}", severity="critical",
                           message=f"reserve of {secretish} is 12345 units", detail={"tx_id": 987654})
    alarm_raise(kind="tx_reorged", key="tx:41", message="transaction 41 left the chain")
    alarm_raise(kind="tx_reorged", key="tx:42", message="transaction 42 left the chain")
    alarm_raise(kind="operator typed this", message="call Bob at home")
    acknowledged = alarm_raise(kind="rate_feed", message="price feed stale")
    Alarm.objects.filter(pk=acknowledged.pk).update(acknowledged_at=timezone.now())

    body = status_json()
    assert body["status"] == "major_outage"  # a critical alarm is open
    incidents = body["incidents"]
    first = incidents[0]
    assert (first["kind"], first["severity"], first["count"]) == ("low_reserve", "critical", 1)
    assert {(i["kind"], i["count"]) for i in incidents[1:]} == {("tx_reorged", 2), ("other", 1)}
    assert all(set(i) == {"kind", "title", "severity", "count", "since", "last_seen"} for i in incidents)
    assert "rate_feed" not in {i["kind"] for i in incidents}  # acknowledged: not current
    page = Client().get("/status/").content.decode()
    assert "reserve is below its safety threshold" in page
    for text in (Client().get("/status.json").content.decode(), page):
        for leak in (secretish, "12345", "987654", "tx:41", "call Bob", "operator typed this",
                     f'"{critical.pk}"'):
            assert leak not in text, leak


def test_an_unmatched_checkout_payment_stays_in_the_admin_and_is_no_public_outage(settings: Any) -> None:
    """One payer's on-chain payment naming no invoice of ours is for the operator to settle by
    hand (a critical alarm in the admin), not trouble with the platform."""
    settings.CHANNEL_MANAGER_ADDRESS = ""
    heartbeat_record(name=WORKER_HEARTBEAT)
    alarm_raise(kind="checkout_unmatched", key="checkout:7", severity="critical",
                message="checkout payment 7 names no invoice")

    body = status_json()
    assert body["incidents"] == []
    assert body["status"] != "major_outage"
    assert Alarm.objects.filter(kind="checkout_unmatched", acknowledged_at__isnull=True).count() == 1


def test_webhook_delivery_health_counts_recent_attempts_and_the_due_backlog(settings: Any) -> None:
    settings.CHANNEL_MANAGER_ADDRESS = ""
    team = make_team("Hooks shop")
    endpoint = WebhookEndpoint.objects.create(merchant=team.merchant, url="https://example.com/hook",
                                              event_types=["*"], secret="whsec_test")
    now = timezone.now()
    for n, status in enumerate((200, 204, 500, 200)):
        event = Event.objects.create(type="payment.succeeded", merchant=team.merchant, data={})
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, created_at=now,
                                                  state="succeeded" if status < 300 else "failed")
        WebhookAttempt.objects.create(delivery=delivery, number=1, started_at=now - timedelta(minutes=n),
                                      request_body="{}", signature_header="t=1,v1=x", response_status=status)
    old = Event.objects.create(type="payment.succeeded", merchant=team.merchant, data={})
    WebhookAttempt.objects.create(  # outside the hour: not counted
        delivery=WebhookDelivery.objects.create(endpoint=endpoint, event=old, created_at=now, state="failed"),
        number=1, started_at=now - timedelta(hours=2), request_body="{}", signature_header="t=1,v1=x",
        response_status=500)
    webhooks = status_json()["components"]["webhooks"]
    assert (webhooks["attempts"], webhooks["succeeded"], webhooks["success_rate"]) == (4, 3, 0.75)
    assert (webhooks["backlog"], webhooks["due"], webhooks["status"]) == (0, 0, "ok")

    waiting = Event.objects.create(type="payment.succeeded", merchant=team.merchant, data={})
    WebhookDelivery.objects.create(endpoint=endpoint, event=waiting, created_at=now - timedelta(minutes=20),
                                   next_attempt_at=now - timedelta(minutes=15))
    WebhookDelivery.objects.create(endpoint=endpoint, event=waiting, created_at=now,
                                   next_attempt_at=now + timedelta(minutes=5))
    webhooks = status_json()["components"]["webhooks"]
    assert (webhooks["backlog"], webhooks["due"], webhooks["status"]) == (2, 1, "delayed")
    assert webhooks["oldest_due_seconds"] >= 1200
    page = Client().get("/status/").content.decode()
    assert "2 pending, 1 due now" in page


def test_the_page_is_public_plain_html_under_the_strict_policy(settings: Any) -> None:
    settings.CHANNEL_MANAGER_ADDRESS = ""
    response = Client().get("/status/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<script" not in page and "style=" not in page and "<style" not in page
    assert "/static/pages/status.css" in page and 'name="viewport"' in page
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "Not yet published." in page


def test_the_report_is_cached_between_requests(settings: Any) -> None:
    settings.CHANNEL_MANAGER_ADDRESS = ""
    settings.STATUS_CACHE_SECONDS = 30
    from django.core.cache import cache

    from config.status.report import CACHE_KEY

    cache.delete(CACHE_KEY)
    first = status_json()
    alarm_raise(kind="reorg", message="reorg")  # raised after the report was computed
    assert status_json() == first
    cache.delete(CACHE_KEY)
    assert status_json()["incidents"][0]["kind"] == "reorg"
    cache.delete(CACHE_KEY)


@pytest.mark.chain
def test_the_latest_published_liabilities_root_and_reserve_ratio_show_on_the_page(hub_chain: ChainEnv) -> None:
    from hub.liabilities.services import liabilities_publish
    from tests.payments.conftest import credit_custodial

    credit_custodial("0x" + "c5" * 20, "token", 10**18)
    root = liabilities_publish()
    body = status_json()["liabilities"]
    assert body["status"] == "published" and body["root"] == root.commitment
    assert body["sequence"] == root.sequence and body["reserves_covered"] is True
    page = Client().get("/status/").content.decode()
    assert root.commitment in page and f"#{root.sequence}, published" in page
    assert 'id="reserves-covered">yes<' in page and 'href="/proof/"' in page
    assert f'data-asset="token">{body["reserve_ratio"]["token"]}<' in page
