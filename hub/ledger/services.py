"""Posting to the ledger. Callers are inside their own `transaction.atomic()`."""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db.models import Sum

from hub.core import ChannelState
from hub.core.state import AMOUNT_FIELDS
from hub.ledger.models import LedgerEntry

FIELDS = tuple(attr for attr, _ in AMOUNT_FIELDS)


def asset_of(field: str) -> str:
    return LedgerEntry.Asset.WEI if "_wei_" in field else LedgerEntry.Asset.TOKEN


def channel_account(channel_id: int, field: str) -> str:
    return f"channel:{channel_id}:{field}"


_batch = threading.local()


@contextmanager
def ledger_batch() -> Iterator[None]:
    """Write every posting made inside the block in one INSERT when it ends (callers are inside
    one database transaction, so this changes only the number of round trips). Nothing inside may
    read ledger balances it has just posted. Nested blocks join the outer one."""
    if getattr(_batch, "rows", None) is not None:
        yield
        return
    _batch.rows = []
    try:
        yield
        rows: list[LedgerEntry] = _batch.rows
    finally:
        _batch.rows = None
    if rows:
        LedgerEntry.objects.bulk_create(rows)


def post(entries: Iterable[tuple[str, str, int]], *, memo: str = "",
         channel_update_id: int | None = None) -> list[LedgerEntry]:
    """Post one balanced group of (account, asset, amount) entries; zero amounts are dropped.

    Raises ValueError when the entries do not sum to zero per asset (a bug, never a user error)."""
    rows = [(a, s, amt) for a, s, amt in entries if amt != 0]
    totals: dict[str, int] = defaultdict(int)
    for _account, asset, amount in rows:
        totals[asset] += amount
    if any(totals.values()):
        raise ValueError(f"unbalanced ledger posting: {dict(totals)}")
    posting = uuid.uuid4()
    made = [LedgerEntry(posting=posting, account=account, asset=asset, amount=amount, memo=memo,
                        channel_update_id=channel_update_id) for account, asset, amount in rows]
    pending = getattr(_batch, "rows", None)
    if pending is not None:
        pending.extend(made)
        return made
    return LedgerEntry.objects.bulk_create(made)


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


def account_balance(account: str, asset: str) -> int:
    total = LedgerEntry.objects.filter(account=account, asset=asset).aggregate(t=Sum("amount"))["t"]
    return int(total or 0)
