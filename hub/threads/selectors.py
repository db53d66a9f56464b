"""Reads of threads for the protocol API and the channel sync."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Max, Q

from hub.channels.models import Channel
from hub.channels.records import contract_address
from hub.threads.models import ThreadRecord, ThreadUpdate


def _of_user(user: str) -> Any:
    return ThreadRecord.objects.filter(Q(sender=user) | Q(receiver=user),
                                       contract=contract_address()).select_related("latest")


def thread_list(user: str, which: str) -> list[dict[str, Any]]:
    """`GET thread/:user/{active,all,incoming,initial-states}` in the client's shapes:
    ThreadState[] for active/all/initial-states, ThreadRow[] for incoming."""
    user = user.lower()
    rows = _of_user(user).order_by("id")
    if which == "active":
        return [t.latest_state().to_json() for t in rows.filter(status=ThreadRecord.Status.OPEN)]
    if which == "all":
        return [t.latest_state().to_json() for t in rows]
    if which == "incoming":
        return [t.to_json() for t in rows.filter(receiver=user, status=ThreadRecord.Status.OPEN)]
    if which == "initial-states":
        channel = Channel.objects.filter(contract=contract_address(), user=user).first()
        if channel is None:
            return []
        return [t.initial_state().to_json() for t in rows if t.in_root_of(channel.pk)]
    raise ValueError(which)


def last_update_id(user: str) -> int:
    found = ThreadUpdate.objects.filter(
        Q(thread__sender=user.lower()) | Q(thread__receiver=user.lower()),
        thread__contract=contract_address()).aggregate(m=Max("id"))["m"]
    return int(found or 0)


def thread_between(sender: str, receiver: str) -> dict[str, Any] | None:
    """`GET thread/:sender/to/:receiver`: the active thread's ThreadRow."""
    found = (ThreadRecord.objects.filter(contract=contract_address(), sender=sender.lower(),
                                         receiver=receiver.lower())
             .exclude(status=ThreadRecord.Status.CLOSED).select_related("latest").first())
    return None if found is None else found.to_json()


def thread_sync_items(user: str, last_thread_update_id: int) -> list[tuple[datetime, dict[str, Any]]]:
    """Thread updates for the channel sync (docs/protocol.md §3, "Sync"): states of the user's open
    threads with id >= lastThreadUpdateId, as `(createdOn, item)` for merging."""
    user = user.lower()
    rows = (ThreadUpdate.objects.filter(Q(thread__sender=user) | Q(thread__receiver=user),
                                        thread__contract=contract_address(),
                                        thread__status=ThreadRecord.Status.OPEN,
                                        id__gte=last_thread_update_id)
            .select_related("thread").order_by("id"))
    return [(row.created_at, row.to_sync_item()) for row in rows]
