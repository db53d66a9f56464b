from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin, ReadOnlyInline
from payments.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["public_id", "merchant", "url", "enabled", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["public_id", "url", "merchant__name"]
    exclude = ["secret", "previous_secret"]


class WebhookAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    readonly_fields = ["number", "started_at", "duration_ms", "response_status", "error",
                       "request_body", "response_body"]
    exclude = ["signature_header"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["public_id", "endpoint", "event", "state", "attempt_count", "next_attempt_at",
                    "created_at"]
    list_filter = ["state"]
    search_fields = ["public_id", "event__public_id", "endpoint__public_id"]
    readonly_fields = ["public_id", "endpoint", "event", "attempt_count", "created_at",
                       "completed_at", "last_attempt_at", "redelivery_of"]
    inlines = [WebhookAttemptInline]
