"""Reconciliation: the ledger, the latest signed states and the contract must agree.

Per channel: the ledger's per-field sums equal the latest valid state; and, for a channel with
no pending operations whose latest state went on-chain (txCountChain equal on both sides), the
state's totals per asset equal the contract's channel totals. Any difference raises an alarm
naming the channel and the field. Each channel's state and ledger are read in one snapshot: the
jobs running meanwhile (payments, refunds) never show as a difference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from hub.chain.channel_manager import channel_on_chain
from hub.channels.models import Channel, ChannelUpdate
from hub.ledger.models import LedgerEntry
from hub.ledger.services import FIELDS, channel_ledger_state
from ops.services import alarm_raise


@dataclass
class ReconciliationReport:
    channels: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def reconcile_channels(*, check_chain: bool = True) -> ReconciliationReport:
    report = ReconciliationReport()
    ids = Channel.objects.exclude(latest_update=None).order_by("pk").values_list("pk", flat=True)
    for channel_id in list(ids):
        seen = _snapshot(channel_id)
        if seen is None:
            continue
        channel, row, ledger, in_threads = seen
        report.channels += 1
        for name in FIELDS:
            if ledger[name] != getattr(row, name):
                report.mismatches.append({"channel": channel.user, "field": name,
                                          "ledger": ledger[name], "state": getattr(row, name)})
        if check_chain and not _has_pending(row):
            report.mismatches.extend(_chain_mismatches(channel, row, in_threads))
    for mismatch in report.mismatches:
        alarm_raise(kind="reconciliation", key=f"{mismatch['channel']}:{mismatch['field']}",
                    severity="critical",
                    message=(f"channel {mismatch['channel']} {mismatch['field']}: "
                             f"{mismatch.get('ledger', mismatch.get('chain'))} != "
                             f"{mismatch['state']}"),
                    detail={k: str(v) for k, v in mismatch.items()})
    return report


def _snapshot(channel_id: int) -> tuple[Channel, ChannelUpdate, dict[str, int], dict[str, int]] | None:
    """The channel's latest state, its ledger and its thread value as of one moment: a
    REPEATABLE READ transaction, so a payment or refund committing between the reads (it writes
    the state and the ledger together) cannot show one without the other. (Inside a caller's
    transaction, that transaction's own isolation applies.)"""
    outer = connection.in_atomic_block
    with transaction.atomic():
        if not outer:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        channel = Channel.objects.select_related("latest_update").filter(pk=channel_id).first()
        if channel is None or channel.latest_update is None:
            return None
        return channel, channel.latest_update, channel_ledger_state(channel.pk), _thread_value(channel.pk)


def _has_pending(row: ChannelUpdate) -> bool:
    return any(getattr(row, name) for name in FIELDS if name.startswith("pending"))


def _chain_mismatches(channel: Channel, row: ChannelUpdate,
                      in_threads: dict[str, int]) -> list[dict[str, Any]]:
    chain = channel_on_chain(channel.user)
    if chain["tx_count_chain"] != row.tx_count_chain:
        return []  # the latest state's on-chain operations are not both sides' yet
    out = []
    # value in open threads left the channel's balances off-chain but not the contract
    wei_total = row.balance_wei_hub + row.balance_wei_user + in_threads["wei"]
    token_total = row.balance_token_hub + row.balance_token_user + in_threads["token"]
    if chain["wei_total"] != wei_total:
        out.append({"channel": channel.user, "field": "wei_total", "chain": chain["wei_total"],
                    "state": wei_total})
    if chain["token_total"] != token_total:
        out.append({"channel": channel.user, "field": "token_total", "chain": chain["token_total"],
                    "state": token_total})
    return out


def _thread_value(channel_id: int) -> dict[str, int]:
    """What this channel has in open threads (the threads' ledger accounts)."""
    from django.db.models import Sum

    rows = (LedgerEntry.objects.filter(account__startswith="thread:",
                                       account__endswith=f":channel:{channel_id}")
            .values("asset").annotate(total=Sum("amount")))
    value = {"wei": 0, "token": 0}
    for r in rows:
        value[r["asset"]] = int(r["total"] or 0)
    return value
