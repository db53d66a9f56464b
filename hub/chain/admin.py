"""Operator pages for the outbox and the ingester. Everything is read-only; the actions call
services (an operator never edits a transaction row by hand)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from hub.chain.ingest import events_redispatch
from hub.chain.models import (
    ChainCursor,
    ChainEvent,
    ChainReorg,
    ChainTransaction,
    ChainTransactionAttempt,
    NonceCursor,
)
from hub.chain.outbox import transaction_bump, transaction_cancel


class ReadOnlyAdmin(admin.ModelAdmin):
    """The one admin base for records that are append-only (financial records, signed states,
    logs): viewable, never added, changed or deleted by hand. Corrections are explicit admin
    actions that call a service, which writes new, audited entries."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AttemptInline(ReadOnlyInline):
    model = ChainTransactionAttempt
    fields = ("kind", "nonce", "tx_hash", "max_fee_per_gas", "max_priority_fee_per_gas",
              "gas_limit", "created_at", "broadcast_at", "broadcast_error")
    readonly_fields = fields


@admin.register(ChainTransaction)
class ChainTransactionAdmin(ReadOnlyAdmin):
    list_display = ("id", "purpose", "state", "nonce", "to", "value", "attempt_count", "tx_hash",
                    "created_at", "completed_at")
    list_filter = ("state", "purpose")
    search_fields = ("idempotency_key", "tx_hash", "to", "attempts__tx_hash")
    readonly_fields = [f.name for f in ChainTransaction._meta.fields]
    inlines = [AttemptInline]
    actions = ["resubmit_with_fee_bump", "cancel"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChainTransaction]:
        return super().get_queryset(request).annotate(attempt_total=Count("attempts"))

    @admin.display(description="attempts", ordering="attempt_total")
    def attempt_count(self, obj: Any) -> int:
        return int(getattr(obj, "attempt_total", 0))

    def _each(self, request: HttpRequest, queryset: QuerySet[ChainTransaction], action: Any,
              verb: str) -> None:
        for tx_id in queryset.values_list("id", flat=True):
            try:
                tx = action(tx_id=tx_id)
            except Exception as exc:
                self.message_user(request, f"tx {tx_id}: {verb} failed: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"tx {tx_id}: {verb}: now {tx.state}")

    @admin.action(description="Resubmit now with a fee bump (same nonce)")
    def resubmit_with_fee_bump(self, request: HttpRequest, queryset: QuerySet[ChainTransaction]) -> None:
        self._each(request, queryset, transaction_bump, "resubmitted")

    @admin.action(description="Cancel (replace with a 0-value self-transfer at the same nonce)")
    def cancel(self, request: HttpRequest, queryset: QuerySet[ChainTransaction]) -> None:
        self._each(request, queryset, transaction_cancel, "cancellation sent")


@admin.register(ChainEvent)
class ChainEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "name", "contract", "block_number", "log_index", "state", "attempts",
                    "processed_at")
    list_filter = ("state", "name", "contract")
    search_fields = ("tx_hash", "block_hash")
    readonly_fields = [f.name for f in ChainEvent._meta.fields]
    actions = ["redispatch"]

    @admin.action(description="Dispatch again (failed or ignored events)")
    def redispatch(self, request: HttpRequest, queryset: QuerySet[ChainEvent]) -> None:
        count = events_redispatch(event_ids=queryset.values_list("id", flat=True))
        self.message_user(request, f"{count} event(s) queued for dispatch")


@admin.register(ChainReorg)
class ChainReorgAdmin(ReadOnlyAdmin):
    list_display = ("detected_at", "contract", "block_number", "rewound_to", "orphaned_events",
                    "orphaned_processed_events")
    readonly_fields = [f.name for f in ChainReorg._meta.fields]


@admin.register(ChainCursor)
class ChainCursorAdmin(ReadOnlyAdmin):
    list_display = ("contract", "block_number", "block_hash", "updated_at")


@admin.register(NonceCursor)
class NonceCursorAdmin(ReadOnlyAdmin):
    list_display = ("sender", "next_nonce", "updated_at")
