"""A user's request held briefly while the hub's own deposit into a channel is on its way on
chain, instead of refused because of it (issue 15: a hub-initiated operation never makes a
user's own request fail).

The request runs as usual; when it is refused with a code that the pending hub deposit explains
and that channel's latest state does carry a pending hub deposit, the refusal waits (up to
COLLATERAL_HOLD_SECONDS in all) for that channel's latest state to change (the ConfirmPending the
ingester records, or an invalidation) and the request runs again. Past the bound, or when the
state changed and the request is refused for another reason, the last refusal is the answer, as
before. Nothing is held inside a transaction: each attempt is its own."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import connection

from hub.channels.errors import ChannelError
from hub.channels.models import Channel, ChannelUpdate
from hub.channels.records import contract_address
from hub.core import UpdateRejected

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Refusals a pending hub deposit explains: the exchange's own code, the core's refusals of an
# update on top of pending operations (or a timed deposit's timeout), a payment's shortfall.
HELD_CODES = frozenset({"collateral_on_its_way", "pending_operations", "pending_timeout",
                        "insufficient_collateral"})

POLL_SECONDS = 0.1


def hub_deposit_on_its_way(user: str) -> int | None:
    """The id of `user`'s latest state when it carries a pending hub deposit, else None."""
    channel = (Channel.objects.filter(contract=contract_address(), user=user.lower())
               .only("latest_update_id").first())
    if channel is None or channel.latest_update_id is None:
        return None
    pending = ChannelUpdate.objects.filter(pk=channel.latest_update_id, invalid__isnull=True).values_list(
        "pending_deposit_wei_hub", "pending_deposit_token_hub").first()
    if pending is None or not any(pending):
        return None
    return channel.latest_update_id


def _latest_update_id(user: str) -> int | None:
    return (Channel.objects.filter(contract=contract_address(), user=user.lower())
            .values_list("latest_update_id", flat=True).first())


def _wait_for_change(user: str, seen: int, deadline: float) -> bool:
    """Wait until `user`'s latest state is no longer `seen`; False when the deadline passed."""
    while time.monotonic() < deadline:
        if not connection.in_atomic_block:
            connection.close()  # back to the pool while this request waits
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        if _latest_update_id(user) != seen:
            return True
    return False


def held_while_hub_deposit_arrives(attempt: Callable[[], T], *,
                                   channel_of: Callable[[ChannelError | UpdateRejected], str | None]) -> T:
    """Run `attempt`; while it is refused because the hub's deposit into the channel named by
    `channel_of(refusal)` is pending on chain, wait for that channel to move and run it again,
    up to COLLATERAL_HOLD_SECONDS. Then the refusal stands."""
    deadline = time.monotonic() + settings.COLLATERAL_HOLD_SECONDS
    while True:
        try:
            return attempt()
        except (ChannelError, UpdateRejected) as refusal:
            if refusal.code not in HELD_CODES:
                raise
            user = channel_of(refusal)
            seen = hub_deposit_on_its_way(user) if user else None
            if user is None or (seen is None and refusal.code != "collateral_on_its_way"):
                raise
            if seen is None:
                if time.monotonic() >= deadline:
                    raise
                continue  # confirmed since the refusal (the code says it was pending): once more
            logger.info("request held: the hub's deposit into %s is on its way (%s)", user, refusal.code)
            if not _wait_for_change(user, seen, deadline):
                raise
