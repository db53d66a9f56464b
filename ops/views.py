from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from ops.health import health_report


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when database, Redis, chain, contracts and worker are all healthy; 503 naming the rest."""
    healthy, report = health_report()
    return JsonResponse(report, status=200 if healthy else 503)


@require_GET
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on every page without a <link rel=icon> (the admin)."""
    icon = settings.BASE_DIR / "static" / "favicon.ico"
    return HttpResponse(icon.read_bytes(), content_type="image/vnd.microsoft.icon")
