"""The dashboard's periodic job: the overview's rollup folds in the payments made since its
last run (payments/dashboard/volume.py)."""

from __future__ import annotations

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

from payments.dashboard import volume


@interval(seconds=settings.VOLUME_FOLD_SECONDS)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=120_000)
def fold_volume() -> None:
    volume.volume_fold()
