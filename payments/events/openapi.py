"""The event catalogue in OpenAPI: one envelope serializer per object type (`InvoiceEvent`, …),
one OpenAPI 3.1 `webhooks` entry per event type (drf-spectacular's OpenApiWebhook through
SPECTACULAR_SETTINGS['WEBHOOKS'], which takes import paths: `webhook_<n>` below resolves to the
n-th catalogued type), and examples derived from the generated schemas."""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

from drf_spectacular.utils import OpenApiResponse, OpenApiWebhook, extend_schema
from rest_framework import serializers

from payments.events import catalogue


class EventRequestSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True, help_text=(
        "the `Request-Id` of the API or dashboard request that caused the event; null when it "
        "happened on its own (a payment arrived, a transaction confirmed, a timer ran)"))
    idempotency_key = serializers.CharField(allow_null=True, help_text=(
        "the `Idempotency-Key` that request carried, if any"))


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@cache
def envelope_serializer(object_name: str) -> type[serializers.Serializer]:
    """`<Object>EventSerializer`: the envelope with `data.object` of that object type."""
    types = [t for t in catalogue.all_types() if t.object == object_name]
    object_serializer = types[0].serializer_class()
    data = type(f"{_camel(object_name)}EventDataSerializer", (serializers.Serializer,), {
        "__module__": __name__,
        "object": object_serializer(help_text=f"the {object_name} as the API shows it"),
    })
    return type(f"{_camel(object_name)}EventSerializer", (serializers.Serializer,), {
        "__module__": __name__,
        "__doc__": f"An event about a {object_name}.",
        "id": serializers.CharField(help_text="evt_…; deliveries of the same event share it"),
        "object": serializers.ChoiceField(choices=["event"]),
        "type": serializers.ChoiceField(choices=[t.type for t in types]),
        "created": serializers.IntegerField(help_text="Unix seconds"),
        "api_version": serializers.CharField(help_text="the envelope version, e.g. " + catalogue.API_VERSION),
        "data": data(),
        "request": EventRequestSerializer(),
    })


def webhook(event_type: catalogue.EventType) -> OpenApiWebhook:
    return OpenApiWebhook(name=event_type.type, decorator=extend_schema(
        summary=event_type.type,
        description=(f"{event_type.description}\n\nSent as a signed `POST` (see `Spoke-Signature`) "
                     "to every enabled endpoint whose `enabled_events` include it."),
        request=envelope_serializer(event_type.object),
        responses={200: OpenApiResponse(description="any 2xx acknowledges the delivery; 408, 429, "
                                                    "5xx and network errors are retried")},
    ))


def webhook_paths() -> list[str]:
    """The import paths for SPECTACULAR_SETTINGS['WEBHOOKS']."""
    return [f"{__name__}.webhook_{n}" for n in range(len(catalogue.all_types()))]


def __getattr__(name: str) -> Any:
    match = re.fullmatch(r"webhook_([0-9]+)", name)
    if match is None:
        raise AttributeError(name)
    return webhook(catalogue.all_types()[int(match.group(1))])


# --- examples from the generated schemas ----------------------------------------------------------

_ID_PREFIX = {"invoice": "inv", "payment": "pay", "refund": "re", "settlement": "st", "link": "lnk",
              "webhook_endpoint": "we", "event": "evt", "payout_settings": "ps"}
_ADDRESS = "0x" + "5b38da6a701c568545dcfcb03fcb875f56beddc4"
_TX = "0x" + "9f" * 32


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 20:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
        seen += 1
    return schema


def example_value(schema: dict[str, Any], components: dict[str, Any], name: str = "",
                  object_name: str = "", depth: int = 0) -> Any:
    """A plausible value that validates against `schema`, chosen by field name where it helps."""
    schema = _resolve(schema, components)
    if depth > 8:
        return None
    if "example" in schema:  # an explicit example wins (InvoiceCreateRequest's oneOf)
        return copy.deepcopy(schema["example"])
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            return example_value(schema[key][0], components, name, object_name, depth + 1)
    if "enum" in schema:
        options = [v for v in schema["enum"] if v is not None]
        return options[0] if options else None
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        kind = kinds[0] if kinds else "null"
    if kind == "null":
        return None
    if kind == "object":
        if "properties" not in schema:
            return {}
        return {key: example_value(sub, components, key, object_name, depth + 1)
                for key, sub in schema["properties"].items()}
    if kind == "array":
        item = example_value(schema.get("items", {}), components, name, "", depth + 1)
        return [] if item is None else [item]
    if kind == "boolean":
        return name in ("enabled", "livemode") or False
    if kind == "integer":
        if name in ("created",) or name.endswith("_at"):
            return 1764590400
        return max(int(schema.get("minimum", 1)), 1) if "maximum" not in schema else int(schema.get("minimum", 0))
    if kind == "number":
        return 1
    return _example_string(schema, name, object_name)


def _example_string(schema: dict[str, Any], name: str, object_name: str) -> str:
    if name == "object":
        return object_name
    if name == "id":
        return f"{_ID_PREFIX.get(object_name, 'obj')}_3f9c1e0b8a7d4c2e9b6a5f10"
    if name in ("sender", "recipient", "address", "payout_address", "redeemer", "returned_to", "to"):
        return _ADDRESS
    if "hash" in name or name == "tx":
        return _TX
    if name.endswith("url"):
        return "https://shop.example/" + name
    if name == "currency":
        return "USD"
    pattern = schema.get("pattern", "")
    prefixed = re.fullmatch(r"\^([a-z]+)_\[0-9a-f\]\{24\}\$", pattern)
    if prefixed:
        return f"{prefixed.group(1)}_3f9c1e0b8a7d4c2e9b6a5f10"
    if pattern.startswith("^[0-9]") or pattern.startswith("^[1-9]"):
        return "1000000000000000000"
    return name.replace("_", " ") or "text"


def event_example(event_type: catalogue.EventType, components: dict[str, Any]) -> dict[str, Any]:
    envelope = components[envelope_serializer(event_type.object).__name__.removesuffix("Serializer")]
    value = example_value(envelope, components, object_name="event")
    value["type"], value["api_version"] = event_type.type, catalogue.API_VERSION
    value["request"] = {"id": "req_8d2f3a6b1c0e4f5a7b9c1d2e", "idempotency_key": None}
    value["data"] = {"object": example_value(
        envelope["properties"]["data"], components, object_name=event_type.object)["object"]}
    return value


def add_webhook_examples(result: dict[str, Any]) -> None:
    """Postprocessing: an example on every webhook of the document."""
    components = result.get("components", {}).get("schemas", {})
    for name, item in result.get("webhooks", {}).items():
        event_type = catalogue.get(name)
        if event_type is None:
            continue
        content = item["post"]["requestBody"]["content"]["application/json"]
        content["examples"] = {name: {"value": event_example(event_type, components)}}
