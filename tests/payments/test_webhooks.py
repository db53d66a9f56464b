"""Webhook deliveries to a real receiver on loopback, with a controlled clock; and the refusal of
loopback and private destinations when that is not explicitly allowed."""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dramatiq
import pytest
from django.utils import timezone
from dramatiq import Message

from payments import conf
from payments.events.services import event_record
from payments.webhooks.models import WebhookDelivery, WebhookEndpoint
from payments.webhooks.services import (
    delivery_attempt,
    endpoint_create,
    endpoint_rotate_secret,
    retry_delay,
)
from tests.payments.conftest import Shop

State = WebhookDelivery.State


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """A webhook receiver on 127.0.0.1 that can be stopped and started on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.status = 200
        self.answer = b"ok"
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()
                self.wfile.write(receiver.answer)

            def log_message(self, *args: object) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def allow_private_destinations(settings: Any) -> None:
    """A receiver on loopback is a private destination: allowed only when explicitly set."""
    settings.WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS = True


@pytest.fixture
def receiver(allow_private_destinations: None) -> Iterator[Receiver]:
    r = Receiver(free_port())
    try:
        yield r
    finally:
        r.stop()


def make_delivery(shop: Shop, url: str, *, types: list[str] | None = None) -> tuple[WebhookEndpoint, WebhookDelivery]:
    endpoint = endpoint_create(merchant_id=shop.merchant.pk, url=url, event_types=types or ["invoice.paid"])
    event_record(type="invoice.paid", merchant_id=shop.merchant.pk, data={"object": {"id": "inv_x"}})
    return endpoint, WebhookDelivery.objects.get(endpoint=endpoint)


def expected_v1(secret: str, t: str, body: bytes) -> str:
    return hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()


def test_the_schedule_doubles_from_30_seconds_and_caps_at_6_hours() -> None:
    assert [retry_delay(n).total_seconds() for n in range(1, 6)] == [30, 60, 120, 240, 480]
    assert retry_delay(10).total_seconds() == 30 * 2**9
    assert retry_delay(11) == timedelta(hours=6) and retry_delay(200) == timedelta(hours=6)


def test_a_delivery_is_signed_t_and_v1_over_t_dot_body(shop: Shop, receiver: Receiver) -> None:
    receiver.start()
    endpoint, delivery = make_delivery(shop, receiver.url)
    now = timezone.now()
    assert delivery_attempt(delivery_id=delivery.pk, now=now).state == State.SUCCEEDED
    (headers, body), = receiver.received
    header = headers["Spoke-Signature"]
    t, v1 = header.split(",")
    assert t == f"t={int(now.timestamp())}"
    assert v1 == "v1=" + expected_v1(endpoint.secret, t[2:], body)
    assert b'"type":"invoice.paid"' in body and headers["Content-Type"] == "application/json"


def test_during_a_secret_rotation_both_secrets_sign(shop: Shop, receiver: Receiver) -> None:
    receiver.start()
    endpoint, delivery = make_delivery(shop, receiver.url)
    old_secret = endpoint.secret
    now = timezone.now()
    endpoint = endpoint_rotate_secret(merchant_id=shop.merchant.pk, endpoint_id=endpoint.public_id,
                                      overlap_seconds=3600, now=now)
    delivery_attempt(delivery_id=delivery.pk, now=now)
    (headers, body), = receiver.received
    t, *signatures = headers["Spoke-Signature"].split(",")
    assert sorted(signatures) == sorted(f"v1={expected_v1(s, t[2:], body)}"
                                        for s in (endpoint.secret, old_secret))


def test_with_the_receiver_down_the_schedule_is_followed_until_it_is_back(
    shop: Shop, receiver: Receiver,
) -> None:
    _, delivery = make_delivery(shop, receiver.url)
    t0 = delivery.created_at
    now = t0
    for n in range(1, 5):  # down: connection refused
        delivery = delivery_attempt(delivery_id=delivery.pk, now=now)
        assert delivery.state == State.PENDING and delivery.attempt_count == n
        assert delivery.next_attempt_at == now + retry_delay(n)
        # not due a second before: nothing is sent
        early = delivery_attempt(delivery_id=delivery.pk, now=delivery.next_attempt_at - timedelta(seconds=1))
        assert early.attempt_count == n
        now = delivery.next_attempt_at
    assert now - t0 == timedelta(seconds=30 + 60 + 120 + 240)
    receiver.start()
    delivery = delivery_attempt(delivery_id=delivery.pk, now=now)
    assert delivery.state == State.SUCCEEDED and delivery.attempt_count == 5
    attempts = list(delivery.attempts.order_by("number"))
    assert [a.response_status for a in attempts] == [None] * 4 + [200]
    assert all(a.error for a in attempts[:4]) and len(receiver.received) == 1


@pytest.mark.parametrize("status", [500, 503, 408, 429])
def test_server_errors_timeouts_and_throttling_are_retried(shop: Shop, receiver: Receiver, status: int) -> None:
    receiver.status = status
    receiver.start()
    _, delivery = make_delivery(shop, receiver.url)
    delivery = delivery_attempt(delivery_id=delivery.pk, now=delivery.created_at)
    assert delivery.state == State.PENDING and delivery.next_attempt_at is not None


@pytest.mark.parametrize("status", [400, 401, 404, 410])
def test_other_client_errors_are_not_retried(shop: Shop, receiver: Receiver, status: int) -> None:
    receiver.status = status
    receiver.start()
    _, delivery = make_delivery(shop, receiver.url)
    delivery = delivery_attempt(delivery_id=delivery.pk, now=delivery.created_at)
    assert delivery.state == State.FAILED and delivery.next_attempt_at is None
    assert delivery.attempts.get().response_status == status


def test_retries_stop_after_three_days(shop: Shop, receiver: Receiver) -> None:
    receiver.status = 503
    receiver.start()
    _, delivery = make_delivery(shop, receiver.url)
    deadline = delivery.created_at + timedelta(seconds=conf.WEBHOOK_RETRY_FOR_SECONDS)
    now: datetime = delivery.created_at
    while delivery.state == State.PENDING:
        assert now <= deadline
        delivery = delivery_attempt(delivery_id=delivery.pk, now=now)
        if delivery.next_attempt_at:
            now = delivery.next_attempt_at
    assert delivery.state == State.FAILED
    last = delivery.attempts.order_by("-number").first()
    assert last is not None and last.started_at + retry_delay(last.number) > deadline
    # 30 s doubling to the 6 h cap, then every 6 h until the 3 days are up
    assert delivery.attempt_count == len(receiver.received) == 21


def test_a_failed_delivery_can_be_redelivered_through_the_api(shop: Shop, receiver: Receiver) -> None:
    receiver.status = 400
    receiver.start()
    _, delivery = make_delivery(shop, receiver.url)
    delivery_attempt(delivery_id=delivery.pk, now=delivery.created_at)
    receiver.status = 200
    response = shop.client().post(f"/api/v1/webhook_deliveries/{delivery.public_id}/redeliver")
    assert response.status_code == 201
    assert response.json()["redelivery_of"] == delivery.public_id and response.json()["status"] == "pending"
    again = WebhookDelivery.objects.get(public_id=response.json()["id"])
    assert delivery_attempt(delivery_id=again.pk, now=again.created_at).state == State.SUCCEEDED
    assert receiver.received[0][1] == receiver.received[1][1]  # the same event body


def test_endpoints_only_get_the_event_types_they_asked_for(shop: Shop) -> None:
    wanted = endpoint_create(merchant_id=shop.merchant.pk, url="https://hooks.example.com/a",
                             event_types=["refund.created"])
    every = endpoint_create(merchant_id=shop.merchant.pk, url="https://hooks.example.com/b", event_types=["*"])
    event_record(type="invoice.paid", merchant_id=shop.merchant.pk, data={"object": {}})
    assert not WebhookDelivery.objects.filter(endpoint=wanted).exists()
    assert WebhookDelivery.objects.filter(endpoint=every).count() == 1


def test_rotating_the_secret_through_the_api_returns_the_new_secret(shop: Shop) -> None:
    api = shop.client()
    created = api.post("/api/v1/webhook_endpoints", {"url": "https://example.test/h", "enabled_events": ["*"]})
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    rotated = api.post(f"/api/v1/webhook_endpoints/{created.json()['id']}/rotate_secret", {})
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created.json()["secret"]
    assert rotated.json()["secret_rotation_ends_at"] is not None


def test_only_keys_that_may_write_webhooks_read_an_endpoints_signing_secret(shop: Shop) -> None:
    """Whoever holds the secret can sign `invoice.paid` as the platform: a read key must not see it."""
    from payments.apikeys.services import api_key_create

    endpoint = endpoint_create(merchant_id=shop.merchant.pk, url="https://example.test/h", event_types=["*"])
    path = f"/api/v1/webhook_endpoints/{endpoint.public_id}"
    read_only = api_key_create(merchant_id=shop.merchant.pk, kind="read_only").plaintext
    webhooks_read = api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                                   permissions={"webhooks": "read"}).plaintext
    webhooks_write = api_key_create(merchant_id=shop.merchant.pk, kind="restricted",
                                    permissions={"webhooks": "write"}).plaintext
    for key in (read_only, webhooks_read):
        response = shop.client(key).get(path)
        assert response.status_code == 200
        assert response.json()["id"] == endpoint.public_id
        assert "secret" not in response.json()
        assert endpoint.secret not in response.content.decode()
    for key in (shop.key, webhooks_write):
        response = shop.client(key).get(path)
        assert response.status_code == 200 and response.json()["secret"] == endpoint.secret


def record_invoices(shop: Shop, n: int, first: int = 0) -> None:
    for i in range(first, first + n):
        event_record(type="invoice.paid", merchant_id=shop.merchant.pk, data={"object": {"id": f"inv_{i}"}})


def test_one_worker_call_sends_the_endpoints_due_deliveries_each_signed_and_logged_once(
        shop: Shop, other_shop: Shop, receiver: Receiver) -> None:
    from payments.webhooks import services, tasks

    receiver.start()
    mine = endpoint_create(merchant_id=shop.merchant.pk, url=receiver.url, event_types=["invoice.paid"])
    theirs = endpoint_create(merchant_id=other_shop.merchant.pk, url=receiver.url, event_types=["*"])
    record_invoices(shop, 4)
    record_invoices(other_shop, 2, first=100)
    first = WebhookDelivery.objects.filter(endpoint=mine).order_by("pk").first()
    assert first is not None
    lead = delivery_attempt(delivery_id=first.pk, batch=services.BATCH_SIZE)
    assert lead is not None and lead.state == State.SUCCEEDED
    # this merchant's four deliveries, once each, each its own event and id, signed with its secret
    assert len(receiver.received) == 4
    mine_rows = {d.public_id: d for d in WebhookDelivery.objects.filter(endpoint=mine).select_related("event")}
    for headers, body in receiver.received:
        delivery = mine_rows[headers["Spoke-Delivery-Id"]]
        assert headers["Spoke-Event-Id"] == delivery.event.public_id
        assert delivery.event.public_id.encode() in body
        t, v1 = headers["Spoke-Signature"].split(",")
        assert v1 == "v1=" + expected_v1(mine.secret, t[2:], body)
    assert all(d.state == State.SUCCEEDED and d.attempt_count == 1 and d.attempts.count() == 1
               for d in mine_rows.values())
    # the other merchant's deliveries (another endpoint) were not taken along
    assert set(WebhookDelivery.objects.filter(endpoint=theirs).values_list("state", "attempt_count")) == {
        (State.PENDING, 0)}
    # the queued messages of the deliveries taken along do nothing, not even a second POST
    for delivery in mine_rows.values():
        tasks.deliver_webhook(delivery.pk)
    assert len(receiver.received) == 4


class WaveReceiver(Receiver):
    """Answers 503 to one delivery (by its Spoke-Delivery-Id), 200 to the others; answers the first
    request slowly and holds each later one until a second one is in flight (or a few seconds
    passed), noting the most in flight."""

    def __init__(self, port: int, failing: str) -> None:
        super().__init__(port)
        self.failing = failing
        self.in_flight = self.most_in_flight = 0
        self.changed = threading.Condition()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                from payments.webhooks import services

                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.changed:
                    receiver.received.append((dict(self.headers), body))
                    receiver.in_flight += 1
                    receiver.most_in_flight = max(receiver.most_in_flight, receiver.in_flight)
                    receiver.changed.notify_all()
                    if len(receiver.received) > 1:  # the first is sent alone
                        receiver.changed.wait_for(lambda: receiver.most_in_flight >= 2, timeout=3)
                    else:  # and answered slowly: a receiver that answers at once gets one at a time
                        time.sleep(services.CONCURRENT_FROM_MS / 1000)
                    receiver.in_flight -= 1
                status = 503 if self.headers["Spoke-Delivery-Id"] == receiver.failing else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_batch_goes_out_in_waves_of_concurrent_sends_and_stops_after_a_wave_with_a_failure(
        shop: Shop, allow_private_destinations: None) -> None:
    from payments.webhooks import services

    receiver = WaveReceiver(free_port(), failing="")
    endpoint = endpoint_create(merchant_id=shop.merchant.pk, url=receiver.url, event_types=["invoice.paid"])
    record_invoices(shop, 6)
    deliveries = list(WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk"))
    receiver.failing = deliveries[2].public_id
    receiver.start()
    try:
        now = timezone.now()
        delivery_attempt(delivery_id=deliveries[0].pk, now=now, batch=services.BATCH_SIZE)
    finally:
        receiver.stop()
    # the first alone, then the second and third together; the third failed, so no third wave
    assert [h["Spoke-Delivery-Id"] for h, _b in receiver.received[:1]] == [deliveries[0].public_id]
    assert {h["Spoke-Delivery-Id"] for h, _b in receiver.received[1:]} == {
        d.public_id for d in deliveries[1:3]}
    assert receiver.most_in_flight == 2
    found = {d.pk: d for d in WebhookDelivery.objects.filter(endpoint=endpoint)}
    assert [found[d.pk].state for d in deliveries[:2]] == [State.SUCCEEDED, State.SUCCEEDED]
    failed = found[deliveries[2].pk]
    assert failed.state == State.PENDING and failed.attempt_count == 1
    assert failed.next_attempt_at == failed.last_attempt_at + retry_delay(1)
    for delivery in deliveries[3:]:
        row = found[delivery.pk]
        assert row.state == State.PENDING and row.attempt_count == 0 and row.next_attempt_at <= now
        assert not row.attempts.exists()


def test_a_batch_stops_at_a_failed_send_and_the_rest_are_due_again_untouched(
        shop: Shop, receiver: Receiver) -> None:
    from payments.webhooks import services

    receiver.status = 503
    receiver.start()
    endpoint = endpoint_create(merchant_id=shop.merchant.pk, url=receiver.url, event_types=["invoice.paid"])
    record_invoices(shop, 3)
    first, *rest = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("pk")
    now = timezone.now()
    broker = dramatiq.get_broker()
    broker.flush_all()
    lead = delivery_attempt(delivery_id=first.pk, now=now, batch=services.BATCH_SIZE)
    assert lead is not None and lead.state == State.PENDING and lead.attempt_count == 1
    assert lead.next_attempt_at == now + retry_delay(1)
    assert len(receiver.received) == 1
    for delivery in rest:
        delivery.refresh_from_db()
        assert delivery.state == State.PENDING and delivery.attempt_count == 0
        assert delivery.last_attempt_at is None and delivery.next_attempt_at <= now
        assert not delivery.attempts.exists()
        assert not services.registry.busy_or_ended(delivery.pk)
    # each gets a message of its own: the ones queued for them may have passed while they were held
    queued = [Message.decode(raw) for raw in list(broker.queues["webhooks"].queue)]
    assert sorted(m.args for m in queued if m.actor_name == "deliver_webhook") == [(d.pk,) for d in rest]
    # the receiver is back: the next call takes them and numbers their first attempt 1
    receiver.status = 200
    delivery_attempt(delivery_id=rest[0].pk, now=now, batch=services.BATCH_SIZE)
    assert [d.attempt_count for d in WebhookDelivery.objects.filter(pk__in=[d.pk for d in rest])] == [1, 1]
    assert WebhookDelivery.objects.get(pk=first.pk).state == State.PENDING  # its retry is not due yet
