from __future__ import annotations

from django.contrib import admin

from hub.chain.admin import ReadOnlyAdmin
from payments.custodial.models import CustodialWithdrawal


@admin.register(CustodialWithdrawal)
class CustodialWithdrawalAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "recipient", "requested_token", "sent_wei", "state", "created_at")
    list_filter = ("state", "payout_asset")
    search_fields = ("user", "recipient")
    readonly_fields = [f.name for f in CustodialWithdrawal._meta.fields]
