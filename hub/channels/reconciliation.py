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

from hub.chain.channel_manager import channels_on_chain
from hub.channels.models import Channel
from hub.ledger.models import LedgerEntry
from hub.ledger.services import FIELDS, channels_ledger_state
from ops.services import alarm_raise


@dataclass
class ReconciliationReport:
    channels: int = 0
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


BATCH = 1000  # channels per snapshot and per batch of chain reads


def reconcile_channels(*, check_chain: bool = True, batch: int = BATCH) -> ReconciliationReport:
    """The pass walks the channels in id order, `batch` at a time: one snapshot reads the
    batch's latest states, their ledger sums and their thread values (three queries), then one
    JSON-RPC batch reads the contract's view of the batch's settled channels."""
    report = ReconciliationReport()
    after = 0
    while True:
        seen = _snapshot_batch(after, batch)
        if seen is None:
            break
        after, rows = seen
        settled = []
        for row, ledger, in_threads in rows:
            report.channels += 1
            for name in FIELDS:
                if ledger[name] != row[name]:
                    report.mismatches.append({"channel": row["user"], "field": name,
                                              "ledger": ledger[name], "state": row[name]})
            if check_chain and not _has_pending(row):
                settled.append((row, in_threads))
        if settled:
            chain = channels_on_chain([row["user"] for row, _t in settled])
            for row, in_threads in settled:
                report.mismatches.extend(_chain_mismatches(row, in_threads, chain[row["user"]]))
    for mismatch in report.mismatches:
        alarm_raise(kind="reconciliation", key=f"{mismatch['channel']}:{mismatch['field']}",
                    severity="critical",
                    message=(f"channel {mismatch['channel']} {mismatch['field']}: "
                             f"{mismatch.get('ledger', mismatch.get('chain'))} != "
                             f"{mismatch['state']}"),
                    detail={k: str(v) for k, v in mismatch.items()})
    return report


# a channel's latest state as the pass reads it: "pk", "user", the amount fields, "tx_count_chain"
Row = dict[str, Any]
Seen = tuple[Row, dict[str, int], dict[str, int]]
_COLUMNS = ("pk", "user", *(f"latest_update__{name}" for name in FIELDS), "latest_update__tx_count_chain")
_KEYS = ("pk", "user", *FIELDS, "tx_count_chain")


def _snapshot_batch(after: int, limit: int) -> tuple[int, list[Seen]] | None:
    """The next `limit` channels with a state after id `after`: each one's latest state, its
    ledger and its thread value as of one moment (a REPEATABLE READ transaction, so a payment or
    refund committing between the reads, which writes the state and the ledger together, cannot
    show one without the other; inside a caller's transaction, that transaction's own isolation
    applies). Returns the last id read and the rows, or None when no channel is left."""
    outer = connection.in_atomic_block
    with transaction.atomic():
        if not outer:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        # plain columns, not model instances: this runs over every channel
        channels = [dict(zip(_KEYS, values, strict=True)) for values in
                    Channel.objects.filter(pk__gt=after, latest_update__isnull=False)
                    .order_by("pk").values_list(*_COLUMNS)[:limit]]
        if not channels:
            return None
        ids = [c["pk"] for c in channels]
        ledger = channels_ledger_state(ids)
        threads = _thread_values(ids)
    return ids[-1], [(c, ledger[c["pk"]], threads[c["pk"]]) for c in channels]


def _has_pending(row: Row) -> bool:
    return any(row[name] for name in FIELDS if name.startswith("pending"))


def _chain_mismatches(row: Row, in_threads: dict[str, int], chain: dict[str, int]) -> list[dict[str, Any]]:
    if chain["tx_count_chain"] != row["tx_count_chain"]:
        return []  # the latest state's on-chain operations are not both sides' yet
    out = []
    # value in open threads left the channel's balances off-chain but not the contract
    wei_total = row["balance_wei_hub"] + row["balance_wei_user"] + in_threads["wei"]
    token_total = row["balance_token_hub"] + row["balance_token_user"] + in_threads["token"]
    if chain["wei_total"] != wei_total:
        out.append({"channel": row["user"], "field": "wei_total", "chain": chain["wei_total"],
                    "state": wei_total})
    if chain["token_total"] != token_total:
        out.append({"channel": row["user"], "field": "token_total", "chain": chain["token_total"],
                    "state": token_total})
    return out


def _thread_values(channel_ids: list[int]) -> dict[int, dict[str, int]]:
    """What each channel has in open threads (the threads' ledger accounts, found through the
    threads the channel is a side of: the account names are exact, so the index answers)."""
    from django.db.models import Q, Sum

    from hub.ledger.accounts import thread as thread_account
    from hub.threads.models import ThreadRecord

    values = {cid: {"wei": 0, "token": 0} for cid in channel_ids}
    owner: dict[str, int] = {}
    for pk, sender, receiver in (ThreadRecord.objects.filter(
            Q(sender_channel_id__in=channel_ids) | Q(receiver_channel_id__in=channel_ids))
            .values_list("pk", "sender_channel_id", "receiver_channel_id")):
        for cid in (sender, receiver):
            if cid in values:
                owner[thread_account(pk, cid)] = cid
    if owner:
        rows = (LedgerEntry.objects.filter(account__in=list(owner))
                .values("account", "asset").annotate(total=Sum("amount")))
        for r in rows:
            values[owner[r["account"]]][r["asset"]] += int(r["total"] or 0)
    return values
