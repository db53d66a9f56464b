"""One envelope for every event, a catalogue of every type the code emits, with a schema and an
example for each, listed by GET /api/v1/event_types and in the OpenAPI `webhooks` section."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from django.db import transaction

from linkpay.models import Link
from payments.events import catalogue
from payments.events.models import Event
from payments.invoices.models import Invoice
from payments.refunds.models import Refund
from payments.settlements.models import Settlement
from tests.payments.conftest import Shop

ROOT = Path(__file__).resolve().parents[2]


def emitted_types() -> set[str]:
    """Every event type the code can record: the literal ones, and the state families."""
    found: set[str] = set()
    for path in [*ROOT.glob("payments/**/*.py"), *ROOT.glob("linkpay/**/*.py"), *ROOT.glob("hub/**/*.py")]:
        text = path.read_text()
        found |= set(re.findall(r'event_record\(\s*type="([a-z_]+\.[a-z_]+)"', text))
        found |= set(re.findall(r'_event\(link, "([a-z_]+\.[a-z_]+)"\)', text))
    found |= {f"invoice.{s}" for s in Invoice.State.values if s != Invoice.State.OPEN}
    found |= {f"refund.{s}" for s in Refund.State.values if s != Refund.State.PENDING}
    found |= {f"settlement.{s}" for s in (Settlement.State.PAID, Settlement.State.FAILED)}
    found |= {f"link.{s}" for s in (Link.Status.CANCELLED, Link.Status.EXPIRED)}
    return found | {"webhook_endpoint.test"}


def test_every_emitted_type_is_catalogued_and_nothing_else() -> None:
    assert "payment.succeeded" in emitted_types() and "invoice.created" in emitted_types()
    assert emitted_types() == set(catalogue.names())


@pytest.fixture(scope="module")
def document(django_db_blocker: Any) -> dict[str, Any]:
    from payments.api.schema import generated_schema

    with django_db_blocker.unblock():
        return generated_schema()


def inline(schema: Any, components: dict[str, Any]) -> Any:
    if isinstance(schema, dict):
        if "$ref" in schema:
            return inline(components[schema["$ref"].rsplit("/", 1)[1]], components)
        return {k: inline(v, components) for k, v in schema.items()}
    if isinstance(schema, list):
        return [inline(v, components) for v in schema]
    return schema


def envelope_schema(document: dict[str, Any], event_type: str) -> dict[str, Any]:
    body = document["webhooks"][event_type]["post"]["requestBody"]["content"]["application/json"]
    return dict(inline(body["schema"], document["components"]["schemas"]))


def test_every_type_has_a_webhook_with_a_schema_and_an_example_that_validates(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    assert sorted(document["webhooks"]) == catalogue.names()
    for name in catalogue.names():
        body = document["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]
        example = body["examples"][name]["value"]
        schema = envelope_schema(document, name)
        jsonschema.validate(example, schema)
        assert example["type"] == name and example["object"] == "event"
        assert set(example) == {"id", "object", "type", "created", "api_version", "data", "request"}
        assert example["data"]["object"]["object"] == catalogue.get(name).object  # type: ignore[union-attr]
        assert name in schema["properties"]["type"]["enum"]


def test_event_types_lists_the_catalogue(shop: Shop) -> None:
    response = shop.client().get("/api/v1/event_types")
    assert response.status_code == 200
    rows = response.json()["data"]
    assert [r["id"] for r in rows] == catalogue.names()
    paid = next(r for r in rows if r["id"] == "invoice.paid")
    assert paid["data_object"] == "invoice" and paid["schema_ref"] == "#/components/schemas/InvoiceEvent"
    assert {"id", "amount", "status"} <= set(paid["object_schema"]["properties"])
    jsonschema.validate(paid["example"]["data"]["object"], paid["object_schema"])


def test_an_event_names_its_request_and_carries_the_object_as_the_api_shows_it(
    shop: Shop, document: dict[str, Any],
) -> None:
    api = shop.client()
    response = api.post("/api/v1/invoices", {"amount": "1000", "asset": "wei"}, idempotency_key="order-42")
    assert response.status_code == 201, response.content
    invoice = response.json()
    event = api.get("/api/v1/events", {"type": "invoice.created"}).json()["data"][0]
    assert event["request"] == {"id": response["Request-Id"], "idempotency_key": "order-42"}
    assert event["api_version"] == catalogue.API_VERSION and event["object"] == "event"
    assert event["data"] == {"object": invoice}
    jsonschema.validate(event, envelope_schema(document, "invoice.created"))
    assert api.get(f"/api/v1/events/{event['id']}").json() == event
    # and the webhook body is the same envelope
    row = Event.objects.get(public_id=event["id"])
    from payments.webhooks.services import event_body

    assert json.loads(event_body(row)) == event


def test_payment_succeeded_carries_the_payment_schema_of_the_api(shop: Shop, document: dict[str, Any],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from payments import conf
    from payments.hub_hooks import payments_created
    from tests.dashboard.helpers import make_payment

    # the public base URL of a deployment: the event, made outside any request, and the API
    # answer name the same receipt page
    monkeypatch.setattr(conf, "PUBLIC_BASE_URL", "https://pay.example.com")
    payment = make_payment(shop.address, wei=10**15)
    with transaction.atomic():
        payments_created([payment])
    api = shop.client()
    event = api.get("/api/v1/events", {"type": "payment.succeeded"}).json()["data"][0]
    assert event["data"]["object"] == api.get(f"/api/v1/payments/{payment.public_id}").json()
    assert event["request"] == {"id": None, "idempotency_key": None}  # it happened on its own
    jsonschema.validate(event, envelope_schema(document, "payment.succeeded"))


def test_an_event_outside_the_envelope_cannot_be_recorded(shop: Shop) -> None:
    from payments.events.services import event_record

    for data in ({}, {"amount_wei": "1"}, {"object": {}, "extra": 1}, {"object": "x"}):
        with pytest.raises(ValueError):
            event_record(type="invoice.paid", merchant_id=shop.merchant.pk, data=data)
