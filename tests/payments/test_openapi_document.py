"""The OpenAPI document is complete enough to integrate from: every operation has a description
and examples that validate against its schemas; enums, links between objects, absolute URLs;
patterns that match what the server accepts."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from hub.purchases.models import Payment
from tests.payments.conftest import Shop
from tests.payments.test_event_catalogue import document, inline  # noqa: F401 - fixture


def test_every_operation_has_a_description_and_valid_examples(document: dict[str, Any]) -> None:  # noqa: F811
    components = document["components"]["schemas"]
    checked = 0
    for path, item in document["paths"].items():
        for method, op in item.items():
            assert op.get("description"), f"{method} {path}"
            bodies = [op.get("requestBody", {}).get("content", {}).get("application/json")]
            bodies += [(r.get("content") or {}).get("application/json")
                       for status, r in op["responses"].items() if status < "300"]
            for body in filter(None, bodies):
                schema = inline(body["schema"], components)
                for example in body["examples"].values():
                    jsonschema.validate(example["value"], schema)
                    checked += 1
    assert checked > 40


def test_enums_links_and_absolute_urls(document: dict[str, Any]) -> None:  # noqa: F811
    components = document["components"]["schemas"]
    payment = inline(components["Payment"], components)["properties"]

    def enum(node: dict[str, Any]) -> set[str]:
        return set(node["enum"] if "enum" in node else node["allOf"][0]["enum"])

    assert enum(payment["type"]) == set(Payment.Type.values)
    assert enum(payment["status"]) == set(Payment.Status.values)
    assert "invoice" in payment
    invoice = components["Invoice"]["properties"]
    assert invoice["payments"]["items"]["pattern"] == "^pay_[0-9a-f]{24}$"
    assert invoice["checkout_url"]["format"] == "uri"
    refund = set(components["Refund"]["properties"])
    assert {"method", "link"} <= refund


def _url_pattern(doc: dict[str, Any]) -> str:
    request = doc["components"]["schemas"]["WebhookEndpointCreateRequest"]
    return str(request["properties"]["url"]["pattern"])


@pytest.mark.parametrize("url", ["http://localhost:8000/hooks", "https://shop.example:44321/a/b",
                                 "http://10.0.0.1:65535/x", "https://a.b.example/"])
def test_the_webhook_url_pattern_takes_what_the_server_takes(document: dict[str, Any], url: str,  # noqa: F811
                                                             shop: Shop, settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_PRIVATE_DESTINATIONS = True
    assert re.search(_url_pattern(document), url)
    from payments.webhooks.services import endpoint_create

    endpoint_create(merchant_id=shop.merchant.pk, url=url, event_types=["*"])  # no refusal


@pytest.mark.parametrize("url", ["http://localhost:65536/", "ftp://shop.example/", "http://999.1.1.1/"])
def test_the_webhook_url_pattern_refuses_what_the_server_refuses(document: dict[str, Any], url: str,  # noqa: F811
                                                                 shop: Shop) -> None:
    assert not re.search(_url_pattern(document), url)
    response = shop.client().post("/api/v1/webhook_endpoints", {"url": url, "enabled_events": ["*"]})
    assert response.status_code == 400


def test_the_idempotency_key_pattern_is_what_the_server_accepts(document: dict[str, Any], shop: Shop) -> None:  # noqa: F811
    header = next(p for p in document["paths"]["/api/v1/invoices"]["post"]["parameters"]
                  if p["name"] == "Idempotency-Key")["schema"]
    api = shop.client()
    for key in ("0100", "order 17", "~!"):
        assert re.fullmatch(header["pattern"], key)
        assert api.post("/api/v1/invoices", {"amount": "1", "asset": "wei"}, idempotency_key=key).status_code == 201
    for key in ("caf\u00e9", "tab\there"):
        assert not re.fullmatch(header["pattern"], key)
        response = api.post("/api/v1/invoices", {"amount": "1", "asset": "wei"}, idempotency_key=key)
        assert response.json()["error"]["code"] == "idempotency_key_invalid"


def test_refund_filter_takes_payment_ids(document: dict[str, Any]) -> None:  # noqa: F811
    params = {p["name"]: p for p in document["paths"]["/api/v1/refunds"]["get"]["parameters"]}
    assert params["payment"]["schema"]["pattern"] == "^pay_[0-9a-f]{24}$"


def test_checkout_url_is_absolute(shop: Shop) -> None:
    invoice = shop.client().post("/api/v1/invoices", {"amount": "1", "asset": "wei"}).json()
    assert invoice["checkout_url"] == f"http://testserver/pay/{invoice['id']}"
    assert invoice["payments"] == []
