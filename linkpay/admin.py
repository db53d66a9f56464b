"""Operator view of links: read-only (every change goes through linkpay.services), with a cancel
action. The secret hash is never shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from hub.chain.admin import ReadOnlyAdmin
from linkpay.errors import LinkError
from linkpay.models import Link
from linkpay.services import link_cancel
from ops.admin_display import amount_column


@admin.register(Link)
class LinkAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "status", "amount_shown", "funding", "sender", "redeemer",
                    "expires_at", "created_at")
    list_filter = ("status", "funding", "asset", "payout")
    search_fields = ("public_id", "sender", "redeemer")
    exclude = ("secret_hash",)
    actions = ["cancel_links"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["amount_shown", *(f.name for f in Link._meta.fields if f.name != "secret_hash")]

    amount_shown = amount_column()

    @admin.action(description="Cancel (return to the sender)")
    def cancel_links(self, request: HttpRequest, queryset: QuerySet[Link]) -> None:
        done = 0
        for link in queryset.filter(status=Link.Status.OPEN):
            try:
                if link.merchant_id is not None:
                    link_cancel(link_public_id=link.public_id, merchant_id=link.merchant_id)
                else:
                    link_cancel(link_public_id=link.public_id, sender=link.sender)
                done += 1
            except LinkError as exc:
                self.message_user(request, f"{link.public_id}: {exc.message}", messages.WARNING)
        self.message_user(request, f"{done} link(s) cancelled")
