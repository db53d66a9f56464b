"""/status/ (a page for people) and /status.json or /status/?format=json (for monitors): public,
no sign-in, the same report in both forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from config.status.report import status_report

OVERALL_LABELS = {
    "operational": "All systems operational",
    "degraded": "Some systems are degraded",
    "major_outage": "Major outage",
}
STATUS_LABELS = {
    "ok": "Operational", "down": "Down", "unavailable": "Unavailable", "lagging": "Lagging",
    "stale": "Stale", "missing": "Not reporting", "delayed": "Delayed",
}


def _json(report: dict[str, Any]) -> JsonResponse:
    response = JsonResponse(report, status=200, json_dumps_params={"indent": 1})
    response["Cache-Control"] = "public, max-age=10"
    response["Access-Control-Allow-Origin"] = "*"  # public figures: browser-based monitors may read them
    return response


def _when(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


@require_GET
def status_json(request: HttpRequest) -> JsonResponse:
    return _json(status_report())


@require_GET
def status_page(request: HttpRequest) -> HttpResponse:
    report = status_report()
    if request.GET.get("format") == "json":
        return _json(report)
    components = report["components"]
    rows = [
        ("API", components["api"], "Answers requests; database reachable."),
        ("Chain ingestion", components["chain_ingestion"], "Deposits, withdrawals and disputes seen on chain."),
        ("Background worker", components["worker"], "Top-ups, payouts, settlements and webhooks."),
        ("Webhook delivery", components["webhooks"], "Events sent to merchants' endpoints."),
    ]
    incidents = [{**i, "since_at": _when(i["since"]), "last_seen_at": _when(i["last_seen"])}
                 for i in report["incidents"]]
    worker = components["worker"]
    response = render(request, "status/status.html", {
        "report": report,
        "overall_label": OVERALL_LABELS.get(report["status"], report["status"]),
        "rows": [{"name": name, "part": part, "label": STATUS_LABELS.get(part.get("status", ""), part.get("status")),
                  "about": about} for name, part, about in rows],
        "chain": components["chain_ingestion"],
        "worker": worker,
        "worker_last_beat": _when(worker.get("last_beat")),
        "webhooks": components["webhooks"],
        "incidents": incidents,
        "liabilities": report["liabilities"],
        "liabilities_published_at": _when(report["liabilities"].get("published_at")),
        "generated_at": _when(report["generated_at"]),
    })
    response["Cache-Control"] = "public, max-age=10"
    return response
