"""The client's sync feed: channel updates (merged with thread updates) and the open proposal."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from hub.channels.models import Channel, ChannelUpdate, ProposedUpdate
from hub.channels.records import STATUS_NAMES, channel_find
from hub.threads.selectors import thread_sync_items


def channel_sync(*, user: str, last_chan_tx: int,
                 last_thread_update_id: int | None = None) -> dict[str, Any]:
    """The client's sync feed: valid channel updates after `last_chan_tx`, ascending, merged with
    the thread updates from `last_thread_update_id` (when given), then the open unsigned
    proposal (if any) last."""
    user = user.lower()
    channel = channel_find(user)
    if channel is None:
        return {"status": "CS_OPEN", "updates": []}
    rows = ChannelUpdate.objects.filter(
        channel=channel, invalid__isnull=True, tx_count_global__gt=last_chan_tx
    ).order_by("tx_count_global")
    items = [row.to_sync_item() for row in rows]
    if last_thread_update_id is not None:
        # Merged by createdOn, OpenThread first on ties (docs/protocol.md §3, "Sync").
        merged = [(row.created_at, 0 if row.reason == "OpenThread" else 1, i, item)
                  for i, (row, item) in enumerate(zip(rows, items, strict=True))]
        merged += [(at, 1, len(merged) + j, item) for j, (at, item) in
                   enumerate(thread_sync_items(user, last_thread_update_id))]
        items = [item for *_key, item in sorted(merged, key=lambda m: m[:3])]
    proposal = ProposedUpdate.objects.filter(
        channel=channel, status=ProposedUpdate.Status.OPEN, expires_at__gt=timezone.now()
    ).first()
    if proposal is not None:
        items.append(proposal.to_sync_item())
    return {"status": STATUS_NAMES[Channel.Status(channel.status)], "updates": items}


def channel_sync_of(*, user: str, rows: list[ChannelUpdate],
                    may_have_proposal: bool = True) -> dict[str, Any]:
    """The sync shape for updates the caller has just written, plus the open proposal (looked
    up only when the caller cannot rule one out)."""
    items = [row.to_sync_item() for row in sorted(rows, key=lambda r: r.tx_count_global)]
    if not may_have_proposal:
        return {"status": "CS_OPEN", "updates": items}
    proposal = ProposedUpdate.objects.filter(
        channel__user=user.lower(), status=ProposedUpdate.Status.OPEN, expires_at__gt=timezone.now()
    ).first()
    if proposal is not None:
        items.append(proposal.to_sync_item())
    return {"status": "CS_OPEN", "updates": items}
