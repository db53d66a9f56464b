"""The watchtower's actors: answer and empty disputed channels, watch channel and thread
disputes in one loop, exit stale channels."""

from __future__ import annotations

import logging

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

from hub.disputes.models import ChannelDispute
from hub.disputes.services import channels_exit_stale, dispute_advance, disputes_watch
from hub.threads.disputes import thread_disputes_watch
from hub.threads.services import threads_settle

logger = logging.getLogger(__name__)

# Disputes share the chain queue with the outbox and the ingester: a worker that can send the
# hub's transactions can also decide them.
QUEUE = "chain"


@dramatiq.actor(queue_name=QUEUE, max_retries=10, min_backoff=1_000, max_backoff=30_000,
                time_limit=60_000)
def advance_dispute(dispute_id: int) -> None:
    try:
        dispute_advance(dispute_id=dispute_id)
    except ChannelDispute.DoesNotExist:
        logger.warning("advance_dispute: no dispute %s (rolled back?)", dispute_id)


@interval(seconds=settings.DISPUTE_WATCH_SECONDS)
@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=120_000)
def watch_disputes() -> None:
    """One pass of the watchtower over channel and thread disputes, then the thread closes
    that were waiting on a dispute."""
    disputes_watch()
    thread_disputes_watch()
    threads_settle()


@interval(seconds=settings.STALE_EXIT_RUN_SECONDS)
@dramatiq.actor(queue_name=QUEUE, max_retries=0, time_limit=300_000)
def exit_stale_channels() -> None:
    started = channels_exit_stale()
    if started:
        logger.info("started %d stale-channel exits", len(started))
