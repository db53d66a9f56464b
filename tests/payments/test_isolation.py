"""Every object endpoint of the OpenAPI document, against another merchant's key, a revoked key,
a read-only key on writes and no key: only 401/403/404, and nothing of the owner leaks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from payments.apikeys.services import api_key_create, api_key_revoke
from payments.events.services import event_record
from payments.invoices.services import invoice_create
from payments.refunds.models import Refund
from payments.settlements.models import Settlement
from payments.webhooks.models import WebhookDelivery
from payments.webhooks.services import endpoint_create
from tests.payments.conftest import Api, Shop


def owner_objects(shop: Shop) -> dict[str, str]:
    """One object of every kind, keyed by the collection name in the path."""
    merchant_id = shop.merchant.pk
    endpoint = endpoint_create(merchant_id=merchant_id, url="http://127.0.0.1:9/hook", event_types=["*"])
    invoice = invoice_create(merchant_id=merchant_id, amount=1000, asset="token")  # records an event
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).first()
    assert delivery is not None
    event = event_record(type="test.ping", merchant_id=merchant_id, data={})
    refund = Refund.objects.create(merchant_id=merchant_id, payment_id=1, recipient=shop.address,
                                   amount=1, asset="token")
    settlement = Settlement.objects.create(merchant_id=merchant_id, asset="wei", amount=1,
                                           payout_address=shop.address)
    key = api_key_create(merchant_id=merchant_id, kind="secret").api_key
    return {
        "invoices": invoice.public_id, "refunds": refund.public_id,
        "settlements": settlement.public_id, "webhook_endpoints": endpoint.public_id,
        "webhook_deliveries": delivery.public_id, "events": event.public_id,
        "api_keys": key.public_id, "payments": "pay_1",
        # linkpay's links: ids that do not exist (creating one needs linkpay's funding set-up)
        "links": "lnk_not_a_real_link",
    }


def operations(schema: dict[str, Any]) -> list[tuple[str, str]]:
    return [(path, method) for path, item in schema["paths"].items()
            for method in item if method in ("get", "post", "delete", "put", "patch")]


def call(api: Api, method: str, path: str) -> Any:
    if method == "get":
        return api.get(path)
    if method == "delete":
        return api.delete(path)
    return api.post(path, {})


@pytest.fixture
def schema(shop: Shop) -> dict[str, Any]:
    response = Client().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_every_endpoint_refuses_strangers_and_leaks_nothing(
    shop: Shop, other_shop: Shop, schema: dict[str, Any],
) -> None:
    objects = owner_objects(shop)
    owner_ids = set(objects.values()) - {"pay_1", "lnk_not_a_real_link"}
    revoked = api_key_create(merchant_id=shop.merchant.pk, kind="secret")
    api_key_revoke(merchant_id=shop.merchant.pk, key_id=revoked.api_key.public_id)
    read_only = Api(api_key_create(merchant_id=shop.merchant.pk, kind="read_only").plaintext)
    stranger, revoked_api, anonymous = other_shop.client(), Api(revoked.plaintext), Api(None)

    ops = operations(schema)
    assert len(ops) >= 25
    checked = 0
    for path, method in ops:
        if "{id}" in path:
            collection = path.split("/")[3]
            assert collection in objects, f"no owner object for {path}: add one to owner_objects"
            url = path.replace("{id}", objects[collection])
        else:
            url = path
        for api, allowed in ((anonymous, {401}), (revoked_api, {401})):
            response = call(api, method, url)
            assert response.status_code in allowed, (method, url, response.status_code)
        if method != "get":
            response = call(read_only, method, url)
            assert response.status_code == 403, (method, url, response.status_code)
        response = call(stranger, method, url)
        if "{id}" in path:
            assert response.status_code in (401, 403, 404), (method, url, response.status_code)
        body = response.content.decode()
        leaked = [i for i in owner_ids if i in body]
        assert not leaked, (method, url, leaked)
        checked += 1
    assert checked == len(ops)
    # and the stranger's writes changed nothing of the owner's
    assert api_key_create is not None
    owner = shop.client()
    assert owner.get(f"/api/v1/api_keys/{objects['api_keys']}").json()["revoked_at"] is None
    assert owner.get(f"/api/v1/webhook_endpoints/{objects['webhook_endpoints']}").json()["enabled"] is True
    assert WebhookDelivery.objects.filter(endpoint__merchant=other_shop.merchant).count() == 0
    assert timezone.now()
