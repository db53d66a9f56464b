from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from hub.chain.admin import ReadOnlyAdmin, ReadOnlyInline
from payments.errors import PaymentsError
from payments.webhooks.destinations import check_url_on_save
from payments.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    def clean_url(self) -> str:
        url = str(self.cleaned_data["url"])
        try:
            check_url_on_save(url)  # the same rule as the API and the dashboard
        except PaymentsError as exc:
            raise forms.ValidationError(exc.message) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["public_id", "merchant", "url", "enabled", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["public_id", "url", "merchant__name"]
    exclude = ["secret", "previous_secret"]
    readonly_fields = ["public_id", "merchant", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # merchants create endpoints (API, dashboard), which also issues the secret


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
