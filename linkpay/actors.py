"""Periodic link work: return overdue links to their senders; pay pending redemptions whose
collateral arrived. Both are safe to run twice at once (row locks + status checks)."""

from __future__ import annotations

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

from linkpay.services import link_redemptions_complete, links_expire_due


@interval(seconds=settings.LINK_EXPIRY_SWEEP_SECONDS)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=300_000)
def expire_links() -> None:
    links_expire_due()


@interval(seconds=5)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=120_000)
def complete_link_redemptions() -> None:
    link_redemptions_complete()
