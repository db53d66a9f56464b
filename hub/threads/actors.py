"""The thread watchtower's actor: decide one thread dispute (the periodic pass over every
dispute, channel and thread alike, is `watch_disputes` in hub/disputes/actors.py)."""

from __future__ import annotations

import logging

import dramatiq

from hub.threads.disputes import thread_dispute_advance
from hub.threads.models import ThreadDispute

logger = logging.getLogger(__name__)

QUEUE = "chain"  # with the outbox, the ingester and the channel disputes


@dramatiq.actor(queue_name=QUEUE, max_retries=10, min_backoff=1_000, max_backoff=30_000,
                time_limit=60_000)
def advance_thread_dispute(dispute_id: int) -> None:
    try:
        thread_dispute_advance(dispute_id=dispute_id)
    except ThreadDispute.DoesNotExist:
        logger.warning("advance_thread_dispute: no dispute %s (rolled back?)", dispute_id)
