"""The channel admin's "exit this channel" action (listed in hub/channels/admin.py)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from hub.channels.errors import ChannelError
from hub.channels.models import Channel
from hub.disputes.services import dispute_exit_channel


@admin.action(description="Exit this channel on chain (hub-initiated dispute)")
def exit_channels(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
    if not request.user.is_superuser:
        modeladmin.message_user(request, "only a superuser may exit channels", messages.ERROR)
        return
    operator = getattr(request.user, "get_username", lambda: "?")()
    for channel in queryset:
        try:
            dispute = dispute_exit_channel(user=channel.user, reason=f"operator {operator}")
        except ChannelError as exc:
            modeladmin.message_user(request, f"{channel.user}: not exited ({exc.code}): {exc.message}",
                                    messages.ERROR)
        else:
            modeladmin.message_user(request, f"{channel.user}: exit queued (dispute {dispute.pk})",
                                    messages.SUCCESS)
