"""The chain's Dramatiq actors: the transaction outbox's submit/check steps and their sweep, and
event ingestion. Each loads its row by id, calls one service and is safe to run twice; the
periodic sweep re-sends whatever a lost message left behind."""

from __future__ import annotations

import logging
import time

import dramatiq
from django.conf import settings
from dramatiq.middleware import CurrentMessage
from dramatiq_crontab import interval

from hub.chain import ingest, outbox
from hub.chain.models import ChainTransaction

logger = logging.getLogger(__name__)

CHAIN_QUEUE = "chain"


@dramatiq.actor(queue_name=CHAIN_QUEUE, max_retries=5, min_backoff=1_000, max_backoff=30_000,
                time_limit=120_000)
def submit_transaction(tx_id: int) -> None:
    try:
        outbox.transaction_submit(tx_id=tx_id)
    except ChainTransaction.DoesNotExist:
        logger.warning("submit_transaction: no transaction %s (rolled back?)", tx_id)
    except outbox.TransactionDeferred as exc:
        logger.info("%s; the sweep retries it", exc)


@dramatiq.actor(queue_name=CHAIN_QUEUE, max_retries=5, min_backoff=1_000, max_backoff=30_000,
                time_limit=120_000)
def check_transaction(tx_id: int) -> None:
    try:
        outbox.transaction_check(tx_id=tx_id)
    except ChainTransaction.DoesNotExist:
        logger.warning("check_transaction: no transaction %s (rolled back?)", tx_id)
    except outbox.TransactionDeferred as exc:
        logger.info("%s; the sweep retries it", exc)


@interval(seconds=settings.TX_SWEEP_SECONDS)
@dramatiq.actor(queue_name=CHAIN_QUEUE, max_retries=0, time_limit=60_000)
def sweep_transactions() -> None:
    outbox.transactions_sweep()
    outbox.transactions_recheck_confirmed()


@interval(seconds=ingest.INGEST_INTERVAL_SECONDS)
@dramatiq.actor(queue_name=CHAIN_QUEUE, max_retries=0, time_limit=120_000)
def ingest_events() -> None:
    # follows the chain until the next run takes over; by its message's send time, so a message
    # that waited in a busy worker's queue does not follow for long
    message = CurrentMessage.get_current_message()
    ingest.events_follow(sent=message.message_timestamp / 1000 if message is not None else time.time())
