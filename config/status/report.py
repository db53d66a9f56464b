"""The public status report behind /status/ and /status.json: API, chain ingestion lag, worker
heartbeat, webhook delivery health, current incidents and the latest liabilities commitment.

It lives in config/ because it reads every layer (the merchant platform's webhooks, the hub's
chain cursor, ops' heartbeats and alarms), and only config sits above them all. Every part is
computed so that a failure of one shows as that part being unavailable, never as an error page;
nothing in it is secret or names an internal id (alarms show as public incidents, see
ops/incidents.py).

The JSON schema is stable (`schema`: "spoke.status/1"): fields are only ever added. Times are
ISO 8601 UTC strings, durations whole seconds, rates numbers between 0 and 1."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

logger = logging.getLogger(__name__)

SCHEMA = "spoke.status/1"
CACHE_KEY = "status:report:v1"
WEBHOOK_WINDOW_SECONDS = 3600
WEBHOOK_DUE_LATE_SECONDS = 300  # a delivery due this long and not attempted: the queue is behind


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _api() -> dict[str, Any]:
    from ops.health import check_database

    db_ok, _detail = check_database()
    return {"status": "ok" if db_ok else "down", "database": "ok" if db_ok else "down"}


def _chain() -> dict[str, Any]:
    from hub.chain.lag import ingestion_lag

    lag = ingestion_lag(timeout=2.0)
    if not lag.pop("available"):
        status = "unavailable"
    elif lag["seconds_behind"] is not None and lag["seconds_behind"] > settings.STATUS_CHAIN_LAG_SECONDS:
        status = "lagging"
    else:
        status = "ok"
    return {"status": status, **lag, "lagging_after_seconds": settings.STATUS_CHAIN_LAG_SECONDS}


def _worker() -> dict[str, Any]:
    from ops.models import Heartbeat
    from ops.tasks import WORKER_HEARTBEAT

    beat = Heartbeat.objects.filter(name=WORKER_HEARTBEAT).first()
    stale_after = settings.WORKER_HEARTBEAT_STALE_SECONDS
    if beat is None:
        return {"status": "missing", "last_beat": None, "age_seconds": None, "stale_after_seconds": stale_after}
    age = max(0, int((timezone.now() - beat.beat_at).total_seconds()))
    return {"status": "ok" if age <= stale_after else "stale", "last_beat": _iso(beat.beat_at),
            "age_seconds": age, "stale_after_seconds": stale_after}


def _webhooks() -> dict[str, Any]:
    from payments.webhooks.selectors import delivery_health

    health = delivery_health(window_seconds=WEBHOOK_WINDOW_SECONDS)
    attempts, succeeded = health["attempts"], health["succeeded"]
    late = health["oldest_due_seconds"] is not None and health["oldest_due_seconds"] > WEBHOOK_DUE_LATE_SECONDS
    return {"status": "delayed" if late else "ok",
            "success_rate": round(succeeded / attempts, 4) if attempts else None, **health}


def _incidents() -> list[dict[str, Any]]:
    from ops.incidents import public_incidents

    return [{**i, "since": _iso(i["since"]), "last_seen": _iso(i["last_seen"])} for i in public_incidents()]


def _liabilities() -> dict[str, Any]:
    """The latest signed liabilities root and the reserve ratio per asset, once the hub has
    published one (proof of liabilities, issue 21 parts 1 and 2)."""
    from hub.liabilities.selectors import reserves_of, root_latest

    root = root_latest()
    if root is None:
        return {"status": "not_yet_published", "root": None, "published_at": None, "reserve_ratio": None}
    reserves = reserves_of(root)
    return {"status": "published", "root": root.commitment, "sequence": root.sequence,
            "published_at": _iso(root.issued_at),
            "totals": {asset: entry["total"] for asset, entry in root.roots.items()},
            "reserve_ratio": {asset: r["ratio"] for asset, r in reserves.items()} or None,
            "reserves_covered": all(r["covered"] for r in reserves.values()) if reserves else None,
            "proof_page": "/proof/"}


def _part(name: str, compute: Any, fallback: Any) -> Any:
    try:
        return compute()
    except Exception as exc:  # one broken part must not take the page down
        logger.warning("status part %s unavailable: %s", name, type(exc).__name__)
        return fallback


def _overall(components: dict[str, dict[str, Any]], incidents: list[dict[str, Any]]) -> str:
    if components["api"]["status"] != "ok" or any(i["severity"] == "critical" for i in incidents):
        return "major_outage"
    if incidents or any(c["status"] != "ok" for c in components.values()):
        return "degraded"
    return "operational"


def build_status_report() -> dict[str, Any]:
    unavailable = {"status": "unavailable"}
    components = {
        "api": _part("api", _api, {"status": "down", "database": "down"}),
        "chain_ingestion": _part("chain_ingestion", _chain, unavailable),
        "worker": _part("worker", _worker, unavailable),
        "webhooks": _part("webhooks", _webhooks, unavailable),
    }
    incidents = _part("incidents", _incidents, [])
    return {
        "schema": SCHEMA,
        "generated_at": _iso(timezone.now()),
        "status": _overall(components, incidents),
        "components": components,
        "incidents": incidents,
        "liabilities": _part("liabilities", _liabilities, {"status": "unavailable"}),
    }


def status_report() -> dict[str, Any]:
    """The report, computed at most once every STATUS_CACHE_SECONDS across all processes: the
    page is public, and each computation asks the chain node twice."""
    ttl = settings.STATUS_CACHE_SECONDS
    if ttl <= 0:
        return build_status_report()
    try:
        cached = cache.get(CACHE_KEY)
    except Exception:
        cached = None
    if cached is not None:
        return dict(cached)
    report = build_status_report()
    try:
        cache.set(CACHE_KEY, report, ttl)
    except Exception:
        logger.info("status report not cached: Redis unavailable")
    return report
