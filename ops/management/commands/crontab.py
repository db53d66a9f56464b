"""`manage.py crontab`: dramatiq-crontab's scheduler, made to survive a Redis restart.

dramatiq-crontab holds a Redis lock ("dramatiq-scheduler", 10 s TTL, extended every 5 s) so that
only one scheduler enqueues the periodic jobs. When Redis restarts or stalls for longer than the
TTL, the key is gone, the library's extension raises `LockNotOwnedError` and the scheduler shuts
down: the process exits and the supervisor restarts it, so one Valkey restart looked like a
scheduler crash too (a second `process_restarted` alarm, seen in tests/stack/test_restart.py).

Here the extension takes the lock back with the same token when nobody else holds it, and stops
only when another scheduler has taken it (the library's behaviour: two schedulers never both run
the jobs). This command overrides the library's: `ops` comes before `dramatiq_crontab` in
INSTALLED_APPS, and Django takes the first app's command of a name.
"""

from __future__ import annotations

import logging
import signal
from typing import Any

from apscheduler.triggers.interval import IntervalTrigger
from dramatiq_crontab.conf import get_settings
from dramatiq_crontab.management.commands.crontab import Command as LibraryCommand
from dramatiq_crontab.management.commands.crontab import kill_softly
from redis.exceptions import LockNotOwnedError

logger = logging.getLogger(__name__)


def keep_lock(lock: Any, scheduler: Any) -> None:
    """Extend the scheduler's lock; if Redis lost it, take it back unless another scheduler has."""
    timeout = get_settings().LOCK_TIMEOUT
    try:
        lock.extend(timeout, True)
    except LockNotOwnedError:
        if lock.acquire(blocking=False, token=lock.local.token):
            logger.warning("scheduler: the Redis lock was lost (Redis restarted or stalled) "
                           "and is taken back; the scheduler goes on")
            return
        logger.error("scheduler: another scheduler holds the Redis lock; this one stops")
        scheduler.shutdown(wait=False)  # an executor thread cannot join itself
        raise


class Command(LibraryCommand):
    help = LibraryCommand.help

    def launch_scheduler(self, lock: Any, scheduler: Any) -> None:
        signal.signal(signal.SIGHUP, kill_softly)
        signal.signal(signal.SIGTERM, kill_softly)
        signal.signal(signal.SIGINT, kill_softly)
        self.stdout.write(self.style.SUCCESS("Starting scheduler…"))
        scheduler.add_job(
            keep_lock,
            IntervalTrigger(seconds=get_settings().LOCK_REFRESH_INTERVAL),
            args=(lock, scheduler),
            name="ops.scheduler.keep_lock",
        )
        try:
            scheduler.start()
        except KeyboardInterrupt as e:
            self.stdout.write(self.style.WARNING(str(e)))
            self.stdout.write(self.style.NOTICE("Shutting down scheduler…"))
            scheduler.shutdown()
