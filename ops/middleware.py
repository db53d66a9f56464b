"""A request id on every response (`Request-Id`), available to views as `request.request_id`,
and the application time as `Server-Timing: app;dur=<ms>`."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

# (request id, Idempotency-Key) of the HTTP request being served, for records made on its behalf
# (events name the request that caused them); (None, None) outside a request (jobs, workers).
_CURRENT: ContextVar[tuple[str | None, str | None]] = ContextVar("spoke_request", default=(None, None))
IDEMPOTENCY_KEY_MAX = 255


_REQUEST: ContextVar[HttpRequest | None] = ContextVar("spoke_http_request", default=None)
_PATH: ContextVar[str] = ContextVar("spoke_request_path", default="")


def current_path() -> str:
    """The path of the request being served ("" outside a request)."""
    return _PATH.get()


def current_base_url() -> str:
    """`scheme://host` of the request being served ("" outside a request, or for a Host that
    ALLOWED_HOSTS refuses: Django answers that request 400). Worked out when asked: most
    requests never ask, and validating the host on every one was a measurable part of a
    payment's request handling."""
    request = _REQUEST.get()
    if request is None:
        return ""
    try:
        return request.build_absolute_uri("/").rstrip("/")
    except Exception:
        return ""


def current_request() -> tuple[str | None, str | None]:
    """(request_id, idempotency_key) of the request being served, else (None, None)."""
    return _CURRENT.get()


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        request.request_id = "req_" + secrets.token_hex(12)  # type: ignore[attr-defined]
        # the Idempotency-Key header (request.headers would parse every header name to find it)
        key = request.META.get("HTTP_IDEMPOTENCY_KEY") if request.method == "POST" else None
        token = _CURRENT.set((request.request_id,  # type: ignore[attr-defined]
                              key[:IDEMPOTENCY_KEY_MAX] if key else None))
        request_token, path_token = _REQUEST.set(request), _PATH.set(request.path)
        try:
            response = self.get_response(request)
        finally:
            _CURRENT.reset(token)
            _REQUEST.reset(request_token)
            _PATH.reset(path_token)
        response["Request-Id"] = request.request_id  # type: ignore[attr-defined]
        # How long the application took (standard Server-Timing; no secret in it).
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        return response
