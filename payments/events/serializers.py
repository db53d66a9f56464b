from __future__ import annotations

from typing import Any

from rest_framework import serializers

from payments.events.openapi import EventRequestSerializer
from payments.serialization import Timestamp


class EventDataSerializer(serializers.Serializer):
    object = serializers.DictField(help_text=(
        "the object the event is about, exactly as the API shows it; its schema depends on the "
        "type (GET /api/v1/event_types, and the `webhooks` section of this document)"))


class EventSerializer(serializers.Serializer):
    """One envelope for every event (the body of a webhook delivery, too)."""

    id = serializers.CharField(source="public_id", help_text="evt_…")
    object = serializers.SerializerMethodField()
    type = serializers.CharField(help_text="one of GET /api/v1/event_types")
    created = Timestamp(source="created_at")
    api_version = serializers.CharField(help_text="the envelope version the event was recorded with")
    data = EventDataSerializer()  # type: ignore[assignment]
    request = EventRequestSerializer()

    def get_object(self, obj: Any) -> str:
        return "event"

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return dict(instance.as_payload())


class EventTypeSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="the event type, e.g. invoice.paid")
    object = serializers.ChoiceField(choices=["event_type"])
    description = serializers.CharField()
    data_object = serializers.CharField(help_text="the `object` of data.object, e.g. invoice")
    schema_ref = serializers.CharField(help_text="the envelope's schema in the OpenAPI document")
    object_schema = serializers.DictField(help_text="the JSON schema of data.object")
    example = serializers.DictField(help_text="an example event")
