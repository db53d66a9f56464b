from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin
from hub.custodial.models import CustodialWithdrawal
from ops.admin_display import amount_column


@admin.register(CustodialWithdrawal)
class CustodialWithdrawalAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "recipient", "requested_shown", "sent_shown", "state", "created_at")
    list_filter = ("state", "payout_asset")
    search_fields = ("user", "recipient")
    readonly_fields = ["requested_shown", "sent_shown", *(f.name for f in CustodialWithdrawal._meta.fields)]
    requested_shown = amount_column("requested_token", asset="token", description="requested")
    sent_shown = amount_column("sent_wei", asset="wei", description="sent")
