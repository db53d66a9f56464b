"""Health checks behind /healthz. Each check returns (ok, detail) and never raises."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ops.models import Heartbeat
from ops.tasks import WORKER_HEARTBEAT

Check = tuple[bool, dict[str, Any]]


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


def check_chain() -> tuple[Check, Check]:
    """(chain check, contracts check)."""
    from hub.chain.client import chain_status

    try:
        status = chain_status(timeout=2.0)
    except Exception as exc:
        return (False, {"error": type(exc).__name__}), (False, {"error": "chain unreachable"})
    chain_ok = status["chain_id"] == status["expected_chain_id"]
    chain = {k: status[k] for k in ("chain_id", "expected_chain_id", "latest_block")}
    contracts = status["contracts"]
    contracts_ok = all(c["deployed"] for c in contracts.values())
    return (chain_ok, chain), (contracts_ok, contracts)


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
    chain, contracts = check_chain()
    checks["chain"] = chain
    checks["contracts"] = contracts
    checks["worker"] = check_worker() if checks["database"][0] else (False, {"error": "database down"})
    report: dict[str, Any] = {
        name: {"ok": ok, **detail} for name, (ok, detail) in checks.items()
    }
    down = [name for name, (ok, _) in checks.items() if not ok]
    report["status"] = "ok" if not down else "degraded"
    report["down"] = down
    return not down, report
