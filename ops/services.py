"""Writes for operational records."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ops.models import Alarm, GlobalSwitches, Heartbeat

logger = logging.getLogger(__name__)

# Who hears that an operator flipped the run-time switches (the hub pauses the Checkout contract
# when payments are switched off: hub/checkout/pause.py, registered in hub/apps.py). A listener
# runs inside the transaction that saved the switches.
_switch_listeners: list[Callable[[GlobalSwitches], None]] = []


def on_switches_changed(listener: Callable[[GlobalSwitches], None]) -> None:
    """Register `listener(switches)`; registering the same function twice keeps one."""
    if listener not in _switch_listeners:
        _switch_listeners.append(listener)


def switches_changed(switches: GlobalSwitches) -> None:
    """Tell the listeners that the switches changed (call it where they are saved)."""
    for listener in list(_switch_listeners):
        listener(switches)


def heartbeat_record(*, name: str, detail: dict[str, Any] | None = None) -> Heartbeat:
    """Record that process `name` is alive now. Idempotent; the newest beat wins."""
    beat, _ = Heartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": timezone.now(), "detail": detail or {}}
    )
    return beat


def alarm_raise(*, kind: str, message: str, key: str = "", severity: str = Alarm.Severity.WARNING,
                detail: dict[str, Any] | None = None) -> Alarm:
    """Raise an alarm, or bump the open one with the same (kind, key). At most one open per key."""
    log = logger.critical if severity == Alarm.Severity.CRITICAL else logger.warning
    log("alarm %s%s: %s", kind, f" [{key}]" if key else "", message)
    for _attempt in range(2):
        try:
            with transaction.atomic():
                alarm = (
                    Alarm.objects.select_for_update()
                    .filter(kind=kind, key=key, acknowledged_at__isnull=True)
                    .first()
                )
                if alarm is None:
                    return Alarm.objects.create(
                        kind=kind, key=key, severity=severity, message=message, detail=detail or {}
                    )
                Alarm.objects.filter(pk=alarm.pk).update(
                    occurrences=F("occurrences") + 1, message=message, detail=detail or {},
                    last_seen_at=timezone.now(),
                )
                alarm.refresh_from_db()
                return alarm
        except IntegrityError:
            continue  # a concurrent raise created it first; bump that one
    raise RuntimeError("could not raise alarm")


def alarm_acknowledge(*, alarm_id: int) -> None:
    Alarm.objects.filter(pk=alarm_id, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now()
    )
