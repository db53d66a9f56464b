"""Operator views of disputes (read-only; the "exit this channel" action on channels is in
hub/disputes/admin_actions.py)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from hub.channels.admin import ReadOnlyAdmin
from hub.disputes.models import ChannelDispute
from hub.disputes.services import dispute_advance


@admin.register(ChannelDispute)
class ChannelDisputeAdmin(ReadOnlyAdmin):
    list_display = ("id", "channel", "status", "initiator", "answer_kind", "closing_time",
                    "answer_attempts", "created_at", "finished_at")
    list_filter = ("status", "initiator", "answer_kind")
    search_fields = ("channel__user",)
    readonly_fields = [f.name for f in ChannelDispute._meta.fields]
    list_select_related = ("channel",)
    actions = ["advance"]

    @admin.action(description="Check the chain and move the selected disputes on now")
    def advance(self, request: HttpRequest, queryset: QuerySet[ChannelDispute]) -> None:
        for dispute in queryset.filter(status=ChannelDispute.Status.IN_PERIOD):
            dispute_advance(dispute_id=dispute.pk)
        self.message_user(request, "done", messages.SUCCESS)
