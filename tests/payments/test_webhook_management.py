"""Managing webhook endpoints through the API: update, disable (pending deliveries are cancelled
and never retried), delete, rotate the secret, send a test event; the event picker is checked
against the catalogue."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from payments.events.catalogue import names
from payments.events.services import event_record
from payments.webhooks.models import WebhookDelivery, WebhookEndpoint
from payments.webhooks.services import deliveries_due, delivery_attempt
from tests.payments.conftest import Shop
from tests.payments.test_webhooks import Receiver, expected_v1, free_port

State = WebhookDelivery.State
BASE = "/api/v1/webhook_endpoints"


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    settings.WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS = True
    r = Receiver(free_port())
    try:
        yield r
    finally:
        r.stop()


def create(shop: Shop, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = shop.client().post(BASE, {"url": url, "enabled_events": events or ["invoice.paid"]})
    assert response.status_code == 201, response.content
    return dict(response.json())


def test_an_unknown_event_type_is_refused_with_the_offending_item(shop: Shop) -> None:
    response = shop.client().post(BASE, {"url": "https://example.com/h",
                                         "enabled_events": ["invoice.paid", "invoice.payed"]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"]) == ("parameter_invalid", "enabled_events[1]")
    assert "invoice.payed" in error["message"]
    assert not WebhookEndpoint.objects.exists()
    endpoint = create(shop, "https://example.com/h", ["*"])
    response = shop.client().post(f"{BASE}/{endpoint['id']}", {"enabled_events": ["payment.success"]})
    assert response.status_code == 400 and response.json()["error"]["code"] == "parameter_invalid"
    assert WebhookEndpoint.objects.get().event_types == ["*"]


def test_every_catalogued_type_can_be_picked(shop: Shop) -> None:
    endpoint = create(shop, "https://example.com/h", names())
    assert endpoint["enabled_events"] == names()


def test_an_update_changes_url_events_and_description(shop: Shop) -> None:
    endpoint = create(shop, "https://example.com/h")
    response = shop.client().post(f"{BASE}/{endpoint['id']}", {
        "url": "https://example.org:44321/new", "enabled_events": ["refund.succeeded", "payment.succeeded"],
        "description": "orders"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["url"], body["enabled_events"], body["description"]) == (
        "https://example.org:44321/new", ["payment.succeeded", "refund.succeeded"], "orders")


def test_disabling_cancels_pending_deliveries_and_nothing_is_retried(shop: Shop, receiver: Receiver) -> None:
    receiver.status = 503
    receiver.start()
    endpoint = create(shop, receiver.url)
    event_record(type="invoice.paid", merchant_id=shop.merchant.pk, data={"object": {"id": "inv_x"}})
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    delivery = delivery_attempt(delivery_id=delivery.pk, now=now)
    assert delivery.state == State.PENDING and delivery.next_attempt_at is not None  # a retry is due
    response = shop.client().post(f"{BASE}/{endpoint['id']}", {"enabled": False})
    assert response.status_code == 200 and response.json()["enabled"] is False
    delivery.refresh_from_db()
    assert delivery.state == State.CANCELLED and delivery.next_attempt_at is None
    later = now + timedelta(days=1)
    assert delivery_attempt(delivery_id=delivery.pk, now=later).state == State.CANCELLED
    assert deliveries_due(now=later) == [] and len(receiver.received) == 1
    # new events are not delivered while disabled; redelivery is refused until it is enabled
    event_record(type="invoice.paid", merchant_id=shop.merchant.pk, data={"object": {"id": "inv_y"}})
    assert WebhookDelivery.objects.count() == 1
    response = shop.client().post(f"/api/v1/webhook_deliveries/{delivery.public_id}/redeliver")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "delivery_not_redeliverable"
    assert shop.client().post(f"{BASE}/{endpoint['id']}", {"enabled": True}).status_code == 200
    assert shop.client().post(f"/api/v1/webhook_deliveries/{delivery.public_id}/redeliver").status_code == 201


def test_a_delivery_of_an_endpoint_disabled_behind_the_api_is_cancelled_at_its_attempt(
    shop: Shop, receiver: Receiver,
) -> None:
    receiver.start()
    create(shop, receiver.url)
    event_record(type="invoice.paid", merchant_id=shop.merchant.pk, data={"object": {"id": "inv_x"}})
    WebhookEndpoint.objects.update(enabled=False)  # e.g. by an operator in the admin
    delivery = WebhookDelivery.objects.get()
    assert deliveries_due(now=timezone.now() + timedelta(seconds=1)) == []
    assert delivery_attempt(delivery_id=delivery.pk).state == State.CANCELLED
    assert receiver.received == []


def test_a_deleted_endpoint_is_gone_with_its_log_and_gets_nothing_more(shop: Shop, other_shop: Shop) -> None:
    endpoint = create(shop, "https://example.com/h")
    event_record(type="invoice.paid", merchant_id=shop.merchant.pk, data={"object": {"id": "inv_x"}})
    assert other_shop.client().delete(f"{BASE}/{endpoint['id']}").status_code == 404
    response = shop.client().delete(f"{BASE}/{endpoint['id']}")
    assert response.status_code == 200
    assert response.json() == {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}
    assert not WebhookEndpoint.objects.exists() and not WebhookDelivery.objects.exists()
    assert shop.client().get(f"{BASE}/{endpoint['id']}").status_code == 404
    assert shop.client().delete(f"{BASE}/{endpoint['id']}").status_code == 404


def test_a_read_only_key_cannot_delete(shop: Shop) -> None:
    from payments.apikeys.services import api_key_create

    endpoint = create(shop, "https://example.com/h")
    read_only = api_key_create(merchant_id=shop.merchant.pk, kind="read_only", name="ro").plaintext
    response = shop.client(read_only).delete(f"{BASE}/{endpoint['id']}")
    assert response.status_code == 403
    assert WebhookEndpoint.objects.exists()


def test_rotating_returns_a_new_secret_once(shop: Shop) -> None:
    endpoint = create(shop, "https://example.com/h")
    response = shop.client().post(f"{BASE}/{endpoint['id']}/rotate_secret", {"expires_in_seconds": 60})
    assert response.status_code == 200
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["secret"] != endpoint["secret"]
    assert body["secret_rotation_ends_at"] is not None


def test_a_test_event_goes_to_that_endpoint_only_signed_like_any_other(
    shop: Shop, receiver: Receiver,
) -> None:
    receiver.start()
    endpoint = create(shop, receiver.url, ["refund.failed"])
    other = create(shop, receiver.url, ["*"])
    response = shop.client().post(f"{BASE}/{endpoint['id']}/test")
    assert response.status_code == 201, response.content
    delivery = response.json()
    assert (delivery["endpoint"], delivery["event_type"]) == (endpoint["id"], "webhook_endpoint.test")
    assert WebhookDelivery.objects.filter(endpoint__public_id=other["id"]).count() == 0
    row = WebhookDelivery.objects.get(public_id=delivery["id"])
    assert delivery_attempt(delivery_id=row.pk).state == State.SUCCEEDED
    (headers, body), = receiver.received
    t, v1 = headers["Spoke-Signature"].split(",")
    assert v1 == "v1=" + expected_v1(endpoint["secret"], t[2:], body)
    payload = json.loads(body)
    assert payload["type"] == "webhook_endpoint.test"
    assert payload["data"]["object"]["id"] == endpoint["id"] and "secret" not in payload["data"]["object"]
