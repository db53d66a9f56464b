"""Operator views of channels: the full signed history and ledger, read-only (a signed state or a
ledger entry must never be edited)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html_join

from hub.chain.admin import ReadOnlyAdmin, ReadOnlyInline
from hub.channels.models import Channel, ChannelUpdate, ProposedUpdate
from hub.disputes.admin_actions import exit_channels
from hub.ledger.models import LedgerEntry
from hub.ledger.services import asset_of, channel_ledger_state
from ops.admin_display import amount_column, amount_html


class ChannelUpdateInline(ReadOnlyInline):
    model = ChannelUpdate
    fk_name = "channel"
    # amounts with the formatter; the signatures are on each update's own page (a 132-character
    # column made the channel page wider than the window)
    fields = ("tx_count_global", "tx_count_chain", "reason", "wei_hub", "wei_user",
              "token_hub", "token_user", "timeout", "invalid", "created_at")
    readonly_fields = fields
    wei_hub = amount_column("balance_wei_hub", asset="wei", description="hub ETH")
    wei_user = amount_column("balance_wei_user", asset="wei", description="user ETH")
    token_hub = amount_column("balance_token_hub", asset="token", description="hub SPD")
    token_user = amount_column("balance_token_user", asset="token", description="user SPD")
    ordering = ("-tx_count_global",)
    max_num = 0
    show_change_link = True


@admin.register(Channel)
class ChannelAdmin(ReadOnlyAdmin):
    list_display = ("user", "status", "latest_tx_count", "updated_at")
    list_filter = ("status",)
    search_fields = ("user",)
    readonly_fields = ("contract", "user", "status", "latest_update", "push_sequence", "created_at",
                       "updated_at", "ledger")
    inlines = [ChannelUpdateInline]
    actions = [exit_channels]  # a hub-initiated dispute (hub/disputes)

    @admin.display(description="txCountGlobal")
    def latest_tx_count(self, obj: Channel) -> int | None:
        return obj.latest_update.tx_count_global if obj.latest_update else None

    @admin.display(description="ledger (sum per account)")
    def ledger(self, obj: Channel) -> str:
        """Each non-zero account's sum with the one formatter (the exact base units in its title)."""
        rows = [(field, amount_html(total, asset_of(field)))
                for field, total in channel_ledger_state(obj.pk).items() if total]
        return format_html_join(", ", "{}={}", rows) or "—"


@admin.register(ChannelUpdate)
class ChannelUpdateAdmin(ReadOnlyAdmin):
    list_display = ("channel", "tx_count_global", "reason", "invalid", "created_at")
    list_filter = ("reason", "invalid")
    search_fields = ("channel__user", "state_hash")
    readonly_fields = [f.name for f in ChannelUpdate._meta.fields]


@admin.register(ProposedUpdate)
class ProposedUpdateAdmin(ReadOnlyAdmin):
    list_display = ("channel", "reason", "tx_count_global", "status", "expires_at")
    list_filter = ("status", "reason")
    readonly_fields = [f.name for f in ProposedUpdate._meta.fields]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "account", "amount_shown", "memo")
    list_filter = ("asset",)
    search_fields = ("account", "memo")
    readonly_fields = ["amount_shown", *(f.name for f in LedgerEntry._meta.fields)]
    amount_shown = amount_column()
