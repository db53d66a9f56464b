"""Reconciliation: the ledger, the latest signed states and the contract must agree.

Per channel: the ledger's per-field sums equal the latest valid state; and, for a channel with
no pending operations whose latest state went on-chain (txCountChain equal on both sides), the
state's totals per asset equal the contract's channel totals. Any difference raises an alarm
naming the channel and the field. Each channel's state and ledger are read in one snapshot: the
jobs running meanwhile (payments, refunds) never show as a difference."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from hub.chain.channel_manager import channels_on_chain
from hub.channels.models import Channel, ChannelUpdate
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
    # the contract's view of one batch is read while the next batch is read from the database
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconcile-chain") as chain_reader:
        reading: tuple[Future[dict[str, dict[str, int]]], list[tuple[Row, dict[str, int]]]] | None = None
        while True:
            seen = _snapshot_batch(after, batch)
            settled = []
            if seen is not None:
                after, rows = seen
                for row, ledger, in_threads in rows:
                    report.channels += 1
                    for name in FIELDS:
                        if ledger[name] != row[name]:
                            report.mismatches.append({"channel": row["user"], "field": name,
                                                      "ledger": ledger[name], "state": row[name]})
                    if check_chain and not _has_pending(row):
                        settled.append((row, in_threads))
            if reading is not None:
                chain = reading[0].result()
                for row, in_threads in reading[1]:
                    report.mismatches.extend(_chain_mismatches(row, in_threads, chain[row["user"]]))
            reading = None
            if settled:
                reading = (chain_reader.submit(channels_on_chain, [row["user"] for row, _t in settled]),
                           settled)
            if seen is None:
                break
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
_INT_KEYS = (*FIELDS, "tx_count_chain")
_BATCH_SQL = (
    f"SELECT c.id, c.\"user\", {', '.join(f'u.{name}' for name in _INT_KEYS)} "  # noqa: S608
    f"FROM {Channel._meta.db_table} c JOIN {ChannelUpdate._meta.db_table} u ON u.id = c.latest_update_id "
    "WHERE c.id > %s ORDER BY c.id LIMIT %s")


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
        with connection.cursor() as cursor:
            cursor.execute(_BATCH_SQL, [after, limit])
            channels = [{"pk": row[0], "user": row[1],
                         **{name: int(v) for name, v in zip(_INT_KEYS, row[2:], strict=True)}}
                        for row in cursor.fetchall()]
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
    from django.db.models import Q

    from hub.ledger.accounts import thread as thread_account
    from hub.threads.models import ThreadRecord

    values = {cid: {"wei": 0, "token": 0} for cid in channel_ids}
    owner: dict[str, int] = {}
    lo, hi = min(channel_ids), max(channel_ids)  # a range, not a list of placeholders
    for pk, sender, receiver in (ThreadRecord.objects.filter(
            Q(sender_channel__gte=lo, sender_channel__lte=hi)
            | Q(receiver_channel__gte=lo, receiver_channel__lte=hi))
            .values_list("pk", "sender_channel_id", "receiver_channel_id")):
        for cid in (sender, receiver):
            if cid in values:
                owner[thread_account(pk, cid)] = cid
    if owner:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT account, asset, sum(amount) FROM {LedgerEntry._meta.db_table} "  # noqa: S608
                           "WHERE account = ANY(%s) GROUP BY account, asset", [list(owner)])
            for account, asset, total in cursor.fetchall():
                values[owner[account]][asset] += int(total or 0)
    return values
