""""Now" for the scheduled money work: when a held optimistic payment, a link or an unreachable
refund is overdue, when a settlement schedule is due, which payments count as recent for
collateral, when the outbox sweep takes over a transaction.

In production this is `timezone.now()`. In development and tests (never in production: the
settings refuse SPOKE_TEST_CLOCK_FILE there) it is moved forward by the whole number of seconds
written in that file. The file is read on every call, so a running worker and scheduler follow
a test that moves the clock; an absent or empty file means no offset."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    current = timezone.now()
    path: Path | None = getattr(settings, "TEST_CLOCK_FILE", None)
    if path is None or settings.PRODUCTION:
        return current
    return current + timedelta(seconds=offset_seconds(path))


def offset_seconds(path: Path) -> int:
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        return 0
    return int(text) if text else 0


def set_offset(path: Path, seconds: int) -> None:
    """Move the test clock to `seconds` after real time (atomically: readers never see half)."""
    scratch = path.with_name(path.name + ".new")
    scratch.write_text(f"{int(seconds)}\n")
    scratch.replace(path)
