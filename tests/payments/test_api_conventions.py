"""Conventions of /api/v1/: one error shape, Request-Id, cursor pages, amounts, metadata, 429."""

from __future__ import annotations

from typing import Any

import pytest

from payments import conf
from tests.payments.conftest import Api, Shop


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"type", "code", "message", "param", "request_id"}
    assert error["code"] == code
    assert error["request_id"] == response["Request-Id"] and error["request_id"].startswith("req_")
    return error


def test_validation_errors_have_the_error_shape_with_the_parameter(shop: Shop) -> None:
    error = assert_error(shop.client().post("/api/v1/invoices", {"amount": "1.5", "asset": "wei"}),
                         400, "parameter_invalid")
    assert error["param"] == "amount" and error["type"] == "invalid_request_error"


def test_unknown_objects_paths_and_methods_have_the_error_shape(shop: Shop) -> None:
    assert_error(shop.client().get("/api/v1/invoices/inv_nope"), 404, "resource_missing")
    assert_error(shop.client().get("/api/v1/no_such_thing"), 404, "resource_missing")
    assert_error(shop.client().delete("/api/v1/invoices"), 405, "method_not_allowed")
    assert_error(Api(None).get("/api/v1/invoices"), 401, "authentication_required")
    assert_error(shop.client().post("/api/v1/invoices", raw=b"{not json"), 400, "parse_error")


def test_unexpected_failures_are_500_with_the_error_shape(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    from payments.balances import api

    def explode(merchant_id: int) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "merchant_balance", explode)
    error = assert_error(shop.client().get("/api/v1/balance"), 500, "api_error")
    assert "boom" not in error["message"]


def test_every_response_carries_a_request_id(shop: Shop) -> None:
    first, second = shop.client().get("/api/v1/balance"), shop.client().get("/api/v1/balance")
    assert first["Request-Id"] != second["Request-Id"]


def test_metadata_beyond_the_limits_is_refused(shop: Shop) -> None:
    api = shop.client()
    ok = api.post("/api/v1/invoices", {"amount": "5", "asset": "token", "metadata": {"order": "42"}})
    assert ok.status_code == 201 and ok.json()["metadata"] == {"order": "42"}
    for metadata in ({f"k{i}": "v" for i in range(51)}, {"k" * 41: "v"}, {"k": "v" * 501},
                     {"k": 5}, ["not", "an", "object"]):
        response = api.post("/api/v1/invoices", {"amount": "5", "asset": "token", "metadata": metadata})
        assert_error(response, 400, "metadata_invalid")


def test_amounts_are_decimal_strings_with_their_asset(shop: Shop) -> None:
    big = str(2**200)
    body = shop.client().post("/api/v1/invoices", {"amount": big, "asset": "wei"}).json()
    assert body["amount"] == big and body["asset"] == "wei" and body["amount_received"] == "0"
    balance = shop.client().get("/api/v1/balance").json()
    assert balance["custodial"] == [{"amount": "0", "asset": "wei"}, {"amount": "0", "asset": "token"}]


def test_lists_page_through_every_object_once_with_cursors(shop: Shop) -> None:
    api = shop.client()
    ids = [api.post("/api/v1/invoices", {"amount": str(n + 1), "asset": "wei"}).json()["id"]
           for n in range(25)]
    newest_first = ids[::-1]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 10}
    while True:
        page = api.get("/api/v1/invoices", params).json()
        assert page["object"] == "list" and page["url"] == "/api/v1/invoices"
        seen += [item["id"] for item in page["data"]]
        if not page["has_more"]:
            break
        params = {"limit": 10, "starting_after": page["data"][-1]["id"]}
    assert seen == newest_first
    before = api.get("/api/v1/invoices", {"limit": 3, "ending_before": newest_first[5]}).json()
    assert [i["id"] for i in before["data"]] == newest_first[2:5] and before["has_more"] is True
    assert_error(api.get("/api/v1/invoices", {"limit": 0}), 400, "parameter_invalid")
    assert_error(api.get("/api/v1/invoices", {"limit": 101}), 400, "parameter_invalid")
    assert_error(api.get("/api/v1/invoices", {"starting_after": "inv_unknown"}), 404, "cursor_invalid")


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conf, "API_RATE_PER_SECOND", 0.5)
    monkeypatch.setattr(conf, "API_RATE_BURST", 3)
    api = shop.client()
    statuses = [api.get("/api/v1/balance").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get("/api/v1/balance")
    assert_error(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 2


def test_the_docs_page_uses_no_external_assets(shop: Shop) -> None:
    import re

    page = Api(None).client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/api/v1/schema/" in html
    # samples name this server; no script, style or image comes from anywhere
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)


def test_the_docs_page_renders_markdown_and_has_the_guide_samples_and_catalogue(shop: Shop) -> None:
    import re

    from payments.errors import CODES
    from payments.events.catalogue import names

    html = Api(None).client.get("/api/v1/docs/").content.decode()
    prose = re.sub(r"<pre>.*?</pre>", "", html, flags=re.S)
    assert "`" not in prose  # markdown code spans are rendered, never shown raw
    assert '<h3 id="authentication">Authentication</h3>' in html
    assert "curl http://testserver/api/v1/invoices" in html  # samples name this server
    assert "import httpx" in html and "hmac.compare_digest" in html
    for name in names():
        assert f'id="event-{name}"' in html
    for code in CODES:
        assert f"<code>{code}</code>" in html
    assert 'id="payout_settings_update"' in html and 'id="webhook_endpoints_delete"' in html
