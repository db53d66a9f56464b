from __future__ import annotations

from functools import cache
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from payments.api.base import MerchantAPIView
from payments.api.pagination import PAGINATION_PARAMETERS, list_serializer, paginate
from payments.api.schema import generated_schema
from payments.events import catalogue
from payments.events.openapi import envelope_serializer, event_example
from payments.events.selectors import events_for_merchant
from payments.events.serializers import EventSerializer, EventTypeSerializer


class EventListView(MerchantAPIView):
    resource = "events"

    @extend_schema(operation_id="events_list", responses=list_serializer(EventSerializer),
                   parameters=[*PAGINATION_PARAMETERS, OpenApiParameter("type", str)])
    def get(self, request: Request) -> Response:
        rows = events_for_merchant(self.merchant_id, type=request.query_params.get("type"))
        return Response(paginate(request, rows, EventSerializer))


class EventDetailView(MerchantAPIView):
    resource = "events"

    @extend_schema(operation_id="events_retrieve", responses=EventSerializer)
    def get(self, request: Request, id: str) -> Response:
        return Response(EventSerializer(events_for_merchant(self.merchant_id).get(public_id=id)).data)


def _inline(schema: Any, components: dict[str, Any], depth: int = 0) -> Any:
    """`schema` with its component references expanded (a self-contained JSON schema)."""
    if isinstance(schema, dict):
        if "$ref" in schema and depth < 12:
            return _inline(components[schema["$ref"].rsplit("/", 1)[1]], components, depth + 1)
        if len(schema.get("allOf", ())) == 1:  # a reference with a description beside it
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return {**_inline(schema["allOf"][0], components, depth), **rest}
        return {k: _inline(v, components, depth) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline(v, components, depth) for v in schema]
    return schema


@cache
def event_type_rows() -> list[dict[str, Any]]:
    components = generated_schema()["components"]["schemas"]
    rows = []
    for event_type in catalogue.all_types():
        envelope = envelope_serializer(event_type.object).__name__.removesuffix("Serializer")
        object_schema = components[envelope]["properties"]["data"]
        object_schema = _inline(object_schema, components)["properties"]["object"]
        rows.append({
            "id": event_type.type, "object": "event_type", "description": event_type.description,
            "data_object": event_type.object, "schema_ref": f"#/components/schemas/{envelope}",
            "object_schema": object_schema, "example": event_example(event_type, components),
        })
    return rows


class EventTypeListView(MerchantAPIView):
    resource = "events"

    @extend_schema(operation_id="event_types_list", responses=list_serializer(EventTypeSerializer),
                   description="Every event type the platform sends, with the JSON schema of its "
                               "`data.object` and an example event. Not paginated.")
    def get(self, request: Request) -> Response:
        return Response({"object": "list", "url": request.path, "has_more": False,
                         "data": event_type_rows()})
