"""Posting to the ledger. Callers are inside their own `transaction.atomic()`."""

from __future__ import annotations

import functools
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from hub.core import ChannelState
from hub.core.state import AMOUNT_FIELDS
from hub.ledger.accounts import channel as channel_account
from hub.ledger.models import LedgerEntry
from ops.rows import pg_array

FIELDS = tuple(attr for attr, _ in AMOUNT_FIELDS)
ACCOUNT_MAX = LedgerEntry._meta.get_field("account").max_length or 0
MEMO_MAX = LedgerEntry._meta.get_field("memo").max_length or 0


def asset_of(field: str) -> str:
    return LedgerEntry.Asset.WEI if "_wei_" in field else LedgerEntry.Asset.TOKEN


_batch = threading.local()

Entry = tuple[uuid.UUID, str, str, int, str, "int | None"]  # posting, account, asset, amount, memo, update


@contextmanager
def ledger_batch(flush: Callable[[list[Entry]], None] | None = None) -> Iterator[None]:
    """Write every posting made inside the block in one INSERT when it ends (callers are inside
    one database transaction, so this changes only the number of round trips). Nothing inside may
    read ledger balances it has just posted. Nested blocks join the outer one. `flush(rows)`, when
    given, writes the rows instead (with `ledger_insert_sql`, as part of a statement of its own)."""
    if getattr(_batch, "rows", None) is not None:
        yield
        return
    _batch.rows = []
    try:
        yield
        rows: list[Entry] = _batch.rows
    finally:
        _batch.rows = None
    (flush or _insert)(rows)


def _insert(rows: list[Entry]) -> None:
    """One INSERT for all rows. Every payment posts here, so the statement is written once in
    SQL rather than built by the ORM's bulk_create per call (a third of the cost)."""
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(*ledger_insert_sql(rows))


def ledger_insert_sql(rows: list[Entry]) -> tuple[str, list[Any]]:
    """The INSERT of `rows` (non-empty) and its parameters: run alone, or as a data-modifying
    CTE of a caller's statement (one round trip for both)."""
    postings, accounts, assets, amounts, memos, updates = (list(column) for column in zip(*rows, strict=True))
    return _insert_sql(), [timezone.now(), pg_array(postings), pg_array(accounts), pg_array(assets),
                           pg_array([str(a) for a in amounts]), pg_array(memos), pg_array(updates)]


@functools.cache
def _insert_sql() -> str:
    table = connection.ops.quote_name(LedgerEntry._meta.db_table)
    return (
        f"INSERT INTO {table} (posting, account, asset, amount, memo, channel_update_id, "  # noqa: S608
        "created_at) SELECT p, a, s, v::numeric(78, 0), m, u, %s FROM unnest(%s::uuid[], "
        "%s::varchar[], %s::varchar[], %s::text[], %s::varchar[], %s::bigint[]) AS e(p, a, s, v, m, u)"
    )


def post(entries: Iterable[tuple[str, str, int]], *, memo: str = "",
         channel_update_id: int | None = None) -> None:
    """Post one balanced group of (account, asset, amount) entries; zero amounts are dropped.

    Raises ValueError when the entries do not sum to zero per asset (a bug, never a user error)."""
    rows = [(a, s, amt) for a, s, amt in entries if amt != 0]
    totals: dict[str, int] = defaultdict(int)
    for _account, asset, amount in rows:
        totals[asset] += amount
    if any(totals.values()):
        raise ValueError(f"unbalanced ledger posting: {dict(totals)}")
    for account, asset, _amount in rows:
        if asset not in LedgerEntry.Asset.values or len(account) > ACCOUNT_MAX:
            raise ValueError(f"bad ledger entry {account!r} {asset!r}")
    posting = uuid.uuid4()
    made = [(posting, account, asset, amount, memo[:MEMO_MAX], channel_update_id)
            for account, asset, amount in rows]
    pending = getattr(_batch, "rows", None)
    if pending is not None:
        pending.extend(made)
    else:
        _insert(made)


def post_channel_change(*, channel_id: int, before: ChannelState, after: ChannelState,
                        memo: str, channel_update_id: int | None) -> None:
    """Post the field-by-field difference between two states of one channel, balanced per
    asset against the channel's on-chain account."""
    entries: list[tuple[str, str, int]] = []
    imbalance: dict[str, int] = defaultdict(int)
    for field in FIELDS:
        delta = getattr(after, field) - getattr(before, field)
        if delta:
            asset = asset_of(field)
            entries.append((channel_account(channel_id, field), asset, delta))
            imbalance[asset] += delta
    for asset, amount in imbalance.items():
        entries.append((channel_account(channel_id, "chain"), asset, -amount))
    post(entries, memo=memo, channel_update_id=channel_update_id)


def channel_ledger_state(channel_id: int) -> dict[str, int]:
    """The ledger's view of a channel: the sum of entries per state field."""
    sums = (
        LedgerEntry.objects.filter(account__startswith=f"channel:{channel_id}:")
        .values("account")
        .annotate(total=Sum("amount"))
    )
    view = dict.fromkeys(FIELDS, 0)
    for row in sums:
        field = row["account"].rsplit(":", 1)[1]
        if field in view:
            view[field] = int(row["total"])
    return view


def channels_ledger_state(channel_ids: list[int]) -> dict[int, dict[str, int]]:
    """`channel_ledger_state` for many channels in one query (exact account names: the
    account index answers it)."""
    from django.db import connection

    accounts = {channel_account(cid, name): (cid, name) for cid in channel_ids for name in FIELDS}
    views = {cid: dict.fromkeys(FIELDS, 0) for cid in channel_ids}
    with connection.cursor() as cursor:
        # one array parameter, not thousands of placeholders (the driver splits each one)
        cursor.execute(f"SELECT account, sum(amount) FROM {LedgerEntry._meta.db_table} "  # noqa: S608
                       "WHERE account = ANY(%s) GROUP BY account", [list(accounts)])
        for account, total in cursor.fetchall():
            cid, name = accounts[account]
            views[cid][name] = int(total)
    return views


def account_balance(account: str, asset: str) -> int:
    total = LedgerEntry.objects.filter(account=account, asset=asset).aggregate(t=Sum("amount"))["t"]
    return int(total or 0)
