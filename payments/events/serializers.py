from __future__ import annotations

from typing import Any

from rest_framework import serializers

from payments.serialization import Timestamp


class EventSerializer(serializers.Serializer):
    id = serializers.CharField(source="public_id")
    object = serializers.SerializerMethodField()
    type = serializers.CharField()
    data = serializers.DictField()  # type: ignore[assignment]  # the event's payload, named as in the API
    created = Timestamp(source="created_at")

    def get_object(self, obj: Any) -> str:
        return "event"
