from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from ops.health import health_report


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when database, Redis, chain, contracts and worker are all healthy; 503 naming the rest."""
    healthy, report = health_report()
    return JsonResponse(report, status=200 if healthy else 503)
