"""The OpenAPI document of /api/v1/: drf-spectacular's settings, the postprocessing hook that adds
the house conventions, and the generated document (read by the docs page and the event catalogue)."""

from __future__ import annotations

from functools import cache
from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import patched_settings
from drf_spectacular.views import SpectacularAPIView

from payments.api.descriptions import OPERATIONS
from payments.errors import CODES
from payments.events.openapi import add_webhook_examples, example_value, webhook_paths

ERROR_STATUSES = sorted({c.status for c in CODES.values()} - {406, 415})
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["type", "code", "message", "param", "request_id"],
        "properties": {
            "type": {"type": "string"},
            "code": {"type": "string", "enum": sorted(CODES)},
            "message": {"type": "string"},
            "param": {"type": ["string", "null"]},
            "request_id": {"type": ["string", "null"]},
        },
    }},
}


NO_NUL = "^[^\\u0000]*$"  # PostgreSQL text cannot hold NUL: such strings are refused


def _refuse_nul(node: Any) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        is_string = kind == "string" or (isinstance(kind, list) and "string" in kind)
        if is_string and not ({"enum", "pattern", "format"} & node.keys()):
            node["pattern"] = NO_NUL
        for value in node.values():
            _refuse_nul(value)
    elif isinstance(node, list):
        for value in node:
            _refuse_nul(value)


def add_conventions(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: a description and an example on every operation, the error shape
    on every operation, Idempotency-Key on POSTs, no NUL characters in strings."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components = result["components"]["schemas"]
    if "PayoutSettingsUpdateRequest" in components:  # an empty update is parameter_missing
        components["PayoutSettingsUpdateRequest"]["minProperties"] = 1
        payout = result.get("paths", {}).get("/api/v1/payout_settings", {}).get("post", {})
        if "requestBody" in payout:
            payout["requestBody"]["required"] = True
    invoice_create = components.get("InvoiceCreateRequest")
    if invoice_create is not None:
        # priced in the asset (amount) or in a fiat currency (currency and price), never both
        # (one `not` rather than a oneOf: client generators read a oneOf as a union of two models
        # and lose the request model's name; validators and Schemathesis read both the same)
        invoice_create["not"] = {"anyOf": [
            {"required": ["amount", "currency"]}, {"required": ["amount", "price"]},
            {"required": ["currency"], "not": {"required": ["price"]}},
            {"required": ["price"], "not": {"required": ["currency"]}},
            {"not": {"anyOf": [{"required": ["amount"]}, {"required": ["currency"]}]}},
        ]}
        invoice_create["example"] = {"currency": "USD", "price": "19.99", "asset": "wei", "order_id": "1042",
                                     "description": "Order 1042", "customer_email": "buyer@example.com"}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            if "Public" in operation.get("tags", []):
                operation["security"] = []  # no API key: the wallets' public reads
            if not operation.get("description") and operation.get("operationId") in OPERATIONS:
                operation["description"] = OPERATIONS[operation["operationId"]]
            responses = operation.setdefault("responses", {})
            bodies = [operation.get("requestBody", {}).get("content", {}).get("application/json")]
            bodies += [(r.get("content") or {}).get("application/json") for r in responses.values()]
            for body in bodies:
                if body and "schema" in body and "examples" not in body:
                    body["examples"] = {"example": {"value": example_value(body["schema"], components)}}
            for status in ERROR_STATUSES:
                responses.setdefault(str(status), {
                    "description": "error", "content": {"application/json": {"schema": _ERROR_REF}},
                })
            if method == "post":
                operation.setdefault("parameters", []).append({
                    "in": "header", "name": "Idempotency-Key", "required": False,
                    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
                    "description": "replays the first response for 24 h; another body with the same key is 409",
                })
    _refuse_nul(result.get("paths"))
    _refuse_nul(result.get("components", {}).get("schemas"))
    add_webhook_examples(result)
    return result


SCHEMA_SETTINGS = {
    "OAS_VERSION": "3.1.0",  # 3.1 for propertyNames (metadata key limits)
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "payments.api.schema.add_conventions",
    ],
    "DESCRIPTION": (
        "Amounts are decimal strings of base units with their asset (wei or token). Errors: "
        '`{"error": {"type", "code", "message", "param", "request_id"}}`; every response carries '
        "`Request-Id`. Lists: `limit`, `starting_after`, `ending_before`; `has_more`. POSTs accept "
        "`Idempotency-Key`. Rate limit per key: 429 with `Retry-After`."
    ),
}


def schema_settings() -> dict[str, Any]:
    """SCHEMA_SETTINGS with one OpenAPI 3.1 webhook per catalogued event type (read once the
    apps are ready: linkpay registers its types in its AppConfig.ready)."""
    return {**SCHEMA_SETTINGS, "WEBHOOKS": webhook_paths()}


def schema_view() -> Any:
    return SpectacularAPIView.as_view(urlconf="config.api_urls", custom_settings=schema_settings())


@cache
def generated_schema() -> dict[str, Any]:
    """The OpenAPI document of /api/v1/ (built once per process)."""
    with patched_settings(schema_settings()):
        return SchemaGenerator(urlconf="config.api_urls").get_schema(request=None, public=True)
