"""Periodic operational actors (loaded by the scheduler: `manage.py crontab`)."""

from __future__ import annotations

import os
import socket

import dramatiq
from django.conf import settings
from dramatiq_crontab import interval

from ops import services

WORKER_HEARTBEAT = "worker"


@interval(seconds=settings.WORKER_HEARTBEAT_SECONDS)
@dramatiq.actor(queue_name="default", max_retries=0, time_limit=30_000)
def worker_heartbeat() -> None:
    """Prove the scheduler → broker → worker path works; /healthz reads the row."""
    services.heartbeat_record(
        name=WORKER_HEARTBEAT, detail={"host": socket.gethostname(), "pid": os.getpid()}
    )
