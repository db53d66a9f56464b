"""The hub API's refusals carry the fields the Connext and Python clients read (`error`, the
message, and `code`) and the merchant API's (`type`, `message`, `param`, `request_id`); every code
the hub's code raises is documented in hub/api/ERRORS.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from eth_account import Account

from hub.core.errors import ALL_REJECT_CODES

ROOT = Path(__file__).resolve().parents[3]
RAISED = re.compile(r'(?:ApiError|UpdateRejected|AuthFailed|ChannelError|LinkError|NotFound|Conflict|'
                    r'JsonBodyError|error_response)\((?:[0-9]+, )?"([a-z_]+)"')
CONSTANT = re.compile(r'^[A-Z_]+ = "([a-z_]+)"$', re.M)


def raised_codes() -> set[str]:
    found: set[str] = set(ALL_REJECT_CODES)
    sources = [*ROOT.glob("hub/**/*.py"), *ROOT.glob("linkpay/**/*.py"), ROOT / "ops/jsonbody.py",
               ROOT / "config/middleware.py"]
    for path in sources:
        if "migrations" in path.parts:
            continue
        text = path.read_text()
        found |= set(RAISED.findall(text))
        if path.name == "errors.py" or path.parent.name in ("disputes", "threads"):
            found |= {c for c in CONSTANT.findall(text) if c not in ("chain",)}
    return found


def test_every_raised_code_is_documented() -> None:
    documented = set(re.findall(r"`([a-z_]+)`", (ROOT / "hub/api/ERRORS.md").read_text()))
    codes = raised_codes()
    assert {"auth_required", "not_owner", "channel_not_open", "link_not_found", "tx_count_global"} <= codes
    assert codes - documented == set()


def assert_shape(response: object, status: int, code: str, kind: str) -> None:
    assert response.status_code == status  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error", "code", "message", "type", "param", "request_id"}
    assert (body["code"], body["type"]) == (code, kind)
    assert body["error"] == body["message"] and body["message"]
    assert body["request_id"] == response["Request-Id"]  # type: ignore[index]


@pytest.mark.django_db
def test_refusals_carry_both_shapes() -> None:
    client = Client()
    user = Account.create().address.lower()
    assert_shape(client.get(f"/api/hub/channel/{user}"), 403, "auth_required", "permission_error")
    assert_shape(client.get(f"/api/hub/channel/{user}", headers={
        "x-address": user, "x-nonce": "n", "x-signature": "0x00"}), 403, "nonce_invalid", "permission_error")
    assert_shape(client.post(f"/api/hub/channel/{user}"), 405, "method_not_allowed", "invalid_request_error")
    assert_shape(client.get("/api/hub/no/such/route"), 404, "not_found", "invalid_request_error")
    assert_shape(client.get("/api/hub/nonce", {"address": "0xnope"}), 400, "bad_address",
                 "invalid_request_error")
