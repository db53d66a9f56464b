"""Reads of channels for the protocol API and the admin."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from hub.channels.models import Channel, ChannelUpdate
from hub.channels.records import STATUS_NAMES, channel_find
from hub.core.state import PENDING_FIELDS

_NO_PENDING = Q(**dict.fromkeys(PENDING_FIELDS, 0))


def _update_json(channel: Channel, row: ChannelUpdate) -> dict[str, Any]:
    return {
        "id": row.pk,
        "reason": row.reason,
        "args": row.args,
        "txCount": row.tx_count_global,
        "state": row.to_state(channel.contract, channel.user).to_json(),
        "createdOn": row.created_at.isoformat(),
    }


REDACTED_ZERO = (
    "balanceWeiUser", "balanceTokenUser", "pendingDepositWeiUser", "pendingDepositTokenUser",
    "pendingWithdrawalWeiUser", "pendingWithdrawalTokenUser", "pendingWithdrawalWeiHub",
    "pendingWithdrawalTokenHub", "pendingDepositWeiHub", "pendingDepositTokenHub",
)
REDACTED_BLANK = ("sigUser", "sigHub", "threadRoot")


def redact_state(state: dict[str, Any]) -> dict[str, Any]:
    """What another user may see of a channel's state: the hub's balances (what the hub can pay
    into the channel now); the user's balances and every pending amount are zeroed, signatures
    emptied, counters and the thread root left at zero values."""
    out = dict(state)
    for key in REDACTED_ZERO:
        if key in out:
            out[key] = "0"
    for key in REDACTED_BLANK:
        if key in out:
            out[key] = "" if key != "threadRoot" else "0x" + "0" * 64
    for key in ("txCountGlobal", "txCountChain", "threadCount", "timeout"):
        if key in out:
            out[key] = 0
    return out


def channel_summary(user: str, *, redacted: bool = False) -> dict[str, Any] | None:
    """`GET channel/:user`: `{id, status, lastUpdateOn, user, state}`; `redacted` for a caller
    other than the owner (redact_state)."""
    channel = channel_find(user)
    if channel is None or channel.latest_update_id is None:
        return None
    row = ChannelUpdate.objects.get(pk=channel.latest_update_id)
    return {
        "id": channel.pk,
        "status": STATUS_NAMES[Channel.Status(channel.status)],
        "lastUpdateOn": row.created_at.isoformat(),
        "user": channel.user,
        "state": (redact_state if redacted else dict)(row.to_state(channel.contract, channel.user).to_json()),
    }


def latest_double_signed(user: str, *, no_pending: bool) -> dict[str, Any] | None:
    channel = channel_find(user)
    if channel is None:
        return None
    rows = ChannelUpdate.objects.filter(channel=channel, invalid__isnull=True,
                                        sig_user__isnull=False)
    if no_pending:
        rows = rows.filter(_NO_PENDING)
    row = rows.order_by("-tx_count_global").first()
    return None if row is None else _update_json(channel, row)


def state_at(user: str, tx_count: int) -> dict[str, Any] | None:
    channel = channel_find(user)
    if channel is None:
        return None
    row = ChannelUpdate.objects.filter(channel=channel, tx_count_global=tx_count).order_by(
        "invalid", "-id").first()
    return None if row is None else _update_json(channel, row)
