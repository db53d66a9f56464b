from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from payments.serialization import HTTP_URL_PATTERN, MetadataField, MetadataInput, Timestamp
from payments.webhooks.models import RESPONSE_EXCERPT_CHARS, WebhookDelivery


class WebhookEndpointSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = serializers.SerializerMethodField()
    url = serializers.CharField()
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    enabled_events = serializers.ListField(source="event_types", child=serializers.CharField())
    metadata = MetadataField()
    secret_rotation_ends_at = Timestamp(source="previous_secret_expires_at", allow_null=True)
    created = Timestamp(source="created_at")

    def get_object(self, obj: Any) -> str:
        return "webhook_endpoint"


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(help_text="the signing secret (whsec_…)")


class WebhookEndpointRetrieveSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        required=False, help_text="the signing secret (whsec_…); only for keys with webhooks write access")


# What the server accepts (services._clean_url): an http(s) URL with a host name, localhost or an
# IPv4 address, a port 1..65535 and a path (payments.serialization.HTTP_URL_PATTERN). Private
# destinations are then refused with url_not_public unless the operator allows them.
WEBHOOK_URL_PATTERN = HTTP_URL_PATTERN


@extend_schema_field({"type": "string", "maxLength": 2000, "pattern": WEBHOOK_URL_PATTERN,
                      "example": "https://shop.example/hooks/spoke"})
class WebhookUrl(serializers.URLField):
    """http(s) URL of the receiver."""


class DeletedWebhookEndpointSerializer(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.ChoiceField(choices=["webhook_endpoint"])
    deleted = serializers.BooleanField()


class EventTypeName(serializers.CharField):
    """An event type of the catalogue, or "*" (checked by the service, listed in the schema)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=64, trim_whitespace=False, **kwargs)


class EventTypeNameExtension(OpenApiSerializerFieldExtension):
    target_class = "payments.webhooks.serializers.EventTypeName"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        from payments.events.catalogue import names

        return {"type": "string", "enum": ["*", *names()],
                "description": "an event type (GET /api/v1/event_types), or * for all"}


class WebhookEndpointCreateSerializer(serializers.Serializer):
    url = WebhookUrl(max_length=2000)
    enabled_events = serializers.ListField(child=EventTypeName(), min_length=1, max_length=100,
                                           help_text='the event types to send, or ["*"] for all')
    description = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
    metadata = MetadataInput(required=False)


class WebhookEndpointUpdateSerializer(serializers.Serializer):
    url = WebhookUrl(max_length=2000, required=False)
    enabled_events = serializers.ListField(child=EventTypeName(), min_length=1, max_length=100,
                                           required=False)
    enabled = serializers.BooleanField(required=False, help_text="false pauses deliveries: pending "
                                                                 "ones are cancelled")
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    metadata = MetadataInput(required=False)


class RotateSecretSerializer(serializers.Serializer):
    expires_in_seconds = serializers.IntegerField(
        min_value=0, max_value=7 * 24 * 3600, required=False,
        help_text="how long the previous secret keeps signing (default 86400)",
    )


class WebhookAttemptSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = Timestamp()
    duration_ms = serializers.IntegerField()
    request_body = serializers.CharField()
    response_status = serializers.IntegerField(allow_null=True)
    response_body = serializers.SerializerMethodField(
        help_text="the first 64 characters of the receiver's answer, no more")
    error = serializers.CharField()

    @extend_schema_field(str)
    def get_response_body(self, obj: Any) -> str:
        # rows written before the excerpt was shortened hold up to 2000 characters
        return str(obj.response_body)[:RESPONSE_EXCERPT_CHARS]


class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = serializers.SerializerMethodField()
    endpoint = serializers.CharField(source="endpoint.public_id")
    event = serializers.CharField(source="event.public_id")
    event_type = serializers.CharField(source="event.type")
    status = serializers.ChoiceField(source="state", choices=WebhookDelivery.State.values)
    attempt_count = serializers.IntegerField()
    next_attempt_at = Timestamp(allow_null=True)
    redelivery_of = serializers.CharField(source="redelivery_of.public_id", allow_null=True, default=None)
    attempts = WebhookAttemptSerializer(many=True)
    created = Timestamp(source="created_at")
    completed_at = Timestamp(allow_null=True)

    def get_object(self, obj: Any) -> str:
        return "webhook_delivery"
