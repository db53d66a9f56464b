"""The thread watchtower's actors and the sweep that finishes deferred thread closes."""

from __future__ import annotations

import logging

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

logger = logging.getLogger(__name__)

QUEUE = "chain"  # with the outbox, the ingester and the channel disputes


@dramatiq.actor(queue_name=QUEUE, max_retries=10, min_backoff=1_000, max_backoff=30_000,
                time_limit=60_000)
def advance_thread_dispute(dispute_id: int) -> None:
    from hub.threads.disputes import thread_dispute_advance
    from hub.threads.models import ThreadDispute

    try:
        thread_dispute_advance(dispute_id=dispute_id)
    except ThreadDispute.DoesNotExist:
        logger.warning("advance_thread_dispute: no dispute %s (rolled back?)", dispute_id)


@interval(seconds=settings.DISPUTE_WATCH_SECONDS)
@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=120_000)
def watch_thread_disputes() -> None:
    from hub.threads.disputes import thread_disputes_watch
    from hub.threads.services import threads_settle

    thread_disputes_watch()
    threads_settle()
