"""The hub API's OpenAPI document says what the hub answers: the exchange's and the purchase's
collateral refusals (400 nothing_to_exchange, 409 insufficient_collateral, 409
collateral_on_its_way) and the redacted `GET channel/<user>` view, consistent with
docs/protocol.md, hub/api/ERRORS.md and the code that redacts. The live answers are checked
against these examples where the flows produce them (tests/hub/api/test_channel_flows.py,
test_protocol_auth.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.channels.selectors import redact_state

ROOT = Path(__file__).resolve().parents[3]


def document() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "hub/api/openapi.yaml").read_text())


def documented_codes(path: str, method: str, status: int) -> dict[str, dict[str, Any]]:
    """The error examples of one response, by their code."""
    response = document()["paths"][path][method]["responses"][str(status)]
    examples = response.get("content", {}).get("application/json", {}).get("examples", {})
    return {example["value"]["code"]: example["value"] for example in examples.values()}


def assert_documented(path: str, method: str, response: Any) -> None:
    """A live refusal is one the document shows for its route and status, in the same shape."""
    body = response.json()
    example = documented_codes(path, method, response.status_code).get(body["code"])
    assert example is not None, f"{path} {method} does not document {response.status_code} {body['code']}"
    assert set(body) == set(example) and body["type"] == example["type"]


@pytest.mark.parametrize(("path", "method", "status", "codes"), [
    ("/channel/{user}/request-exchange", "post", 400, {"nothing_to_exchange"}),
    ("/channel/{user}/request-exchange", "post", 409, {"insufficient_collateral", "collateral_on_its_way"}),
    ("/payments/purchase", "post", 409, {"insufficient_collateral"}),
])
def test_the_collateral_refusals_are_documented(path: str, method: str, status: int, codes: set[str]) -> None:
    examples = documented_codes(path, method, status)
    assert set(examples) == codes
    errors_md = (ROOT / "hub/api/ERRORS.md").read_text()
    protocol = (ROOT / "docs/protocol.md").read_text()
    schema_fields = set(document()["components"]["schemas"]["Error"]["required"])
    for code, example in examples.items():
        assert set(example) == schema_fields
        assert example["error"] == example["message"]
        assert f"`{code}` | {status} |" in errors_md, code
        assert f"`{code}`" in protocol, code


def test_the_redacted_channel_view_is_what_the_hub_redacts() -> None:
    operation = document()["paths"]["/channel/{user}"]["get"]
    examples = operation["responses"]["200"]["content"]["application/json"]["examples"]
    owner, redacted = examples["owner"]["value"], examples["redacted"]["value"]
    assert redacted["state"] == redact_state(owner["state"])
    assert {k: v for k, v in redacted.items() if k != "state"} == {k: v for k, v in owner.items() if k != "state"}
    required = set(document()["components"]["schemas"]["ChannelState"]["required"])
    assert set(owner["state"]) == set(redacted["state"]) == required
    assert "redacted" in operation["description"] and "recipientNeedsCollateral" in operation["description"]
    protocol = (ROOT / "docs/protocol.md").read_text()
    assert "any authenticated user (redacted)" in protocol
