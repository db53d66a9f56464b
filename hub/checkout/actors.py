"""The Checkout contract's background work: keep its pause in step with the payments switch."""

from __future__ import annotations

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

from hub.checkout.pause import checkout_pause_sync as sync


@interval(seconds=settings.CHECKOUT_PAUSE_SWEEP_SECONDS)
@dramatiq.actor(max_retries=3, min_backoff=1_000, time_limit=60_000)
def checkout_pause_sync() -> None:
    sync()
