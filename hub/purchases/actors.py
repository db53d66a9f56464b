"""Background work for purchases: collateral for recipients, held optimistic payments."""

from __future__ import annotations

import logging

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

from hub.collateral.services import collateral_request
from hub.purchases.services import deliver_held, optimistic_sweep

logger = logging.getLogger(__name__)


@dramatiq.actor(queue_name="default", max_retries=3, time_limit=60_000)
def collateralize_recipients(recipients: list[str]) -> None:
    """Top up each recipient's channel if the policy says so (idempotent: at most one open
    proposal per channel and never on top of pending operations)."""
    for user in recipients:
        try:
            collateral_request(user=user)
        except Exception:  # one bad channel must not stop the others
            logger.exception("collateral request for %s failed", user)


@dramatiq.actor(queue_name="default", max_retries=3, time_limit=60_000)
def deliver_held_payments(recipient: str) -> None:
    """Deliver the payments the hub held for `recipient` while they were paying."""
    deliver_held(recipient=recipient)


@interval(seconds=settings.OPTIMISTIC_SWEEP_SECONDS)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=120_000)
def sweep_optimistic_payments() -> None:
    optimistic_sweep()
