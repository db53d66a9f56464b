"""Health checks behind /healthz. Each check returns (ok, detail) and never raises."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ops.models import Heartbeat
from ops.tasks import WORKER_HEARTBEAT

Check = tuple[bool, dict[str, Any]]
# Checks the layers above add (HubConfig.ready(): the chain and the contracts), in report order.
_registered: list[Callable[[], dict[str, Check]]] = []


def register_checks(checks: Callable[[], dict[str, Check]]) -> None:
    """Add `checks() -> {name: (ok, detail)}` to the report (it must never raise)."""
    if checks not in _registered:
        _registered.append(checks)


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return True, {}
    except Exception as exc:
        return False, {"error": type(exc).__name__}


def check_redis() -> Check:
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
        return True, {}
    except Exception as exc:
        return False, {"error": type(exc).__name__}


def check_worker() -> Check:
    try:
        beat = Heartbeat.objects.filter(name=WORKER_HEARTBEAT).first()
    except Exception as exc:
        return False, {"error": type(exc).__name__}
    if beat is None:
        return False, {"last_beat": None}
    age = timezone.now() - beat.beat_at
    ok = age <= timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
    return ok, {"last_beat": beat.beat_at.isoformat(), "age_seconds": int(age.total_seconds())}


def health_report() -> tuple[bool, dict[str, Any]]:
    checks: dict[str, Check] = {"database": check_database(), "redis": check_redis()}
    for more in _registered:
        checks.update(more())
    checks["worker"] = check_worker() if checks["database"][0] else (False, {"error": "database down"})
    report: dict[str, Any] = {
        name: {"ok": ok, **detail} for name, (ok, detail) in checks.items()
    }
    down = [name for name, (ok, _) in checks.items() if not ok]
    report["status"] = "ok" if not down else "degraded"
    report["down"] = down
    return not down, report
