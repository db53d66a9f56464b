"""Refusals that hold for every route, answered in the error shape of the route's surface."""

from __future__ import annotations

from collections.abc import Callable

import csp.middleware
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.middleware import locale

from payments.dashboard import sessions as dashboard_sessions


def _refusal(request: HttpRequest, message: str) -> HttpResponse:
    if request.path.startswith("/api/v1/"):
        from payments.api.errors import json_error

        return json_error(request, "parameter_invalid", message)
    if request.path.startswith(("/api/hub/", "/l/")):
        from hub.api.base import error_response

        return error_response(400, "bad_args", message)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")


class RefuseNulMiddleware:
    """A NUL in the path or the query string is refused with 400 before any view runs: nothing
    we serve has one, and PostgreSQL refuses to store or even compare text holding it (the
    look-up of `/pay/%00` was a 500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "\x00" in request.path or "%00" in query or "\x00" in query:
            return _refusal(request, "NUL characters are not allowed in the URL")
        return self.get_response(request)


# --- The protocol API's lean path ----------------------------------------------------------------
# The protocol routes (/api/hub/) are JSON in, JSON out, authenticated by signature: no session,
# no language (nothing under hub/ is translated), no signed-in user, no flash messages and no
# page to frame or to give a content-security policy. The middleware that serves those to the
# pages is skipped there: each class below is the one Django (or django-csp) ships, and passes a
# protocol request straight on. The security headers (SecurityMiddleware,
# XFrameOptionsMiddleware), the request id and the NUL refusal stay on every route, and so does
# Django's CSRF middleware (`check --deploy` wants it by name; every protocol view is
# csrf_exempt, so it passes them at once). Measured with bench/payments_bench.py: the skipped
# middleware was about a tenth of a purchase's time in the web process.

PROTOCOL_PREFIX = "/api/hub/"


class _SkippedOnProtocolRoutes:
    """Mixed in before a middleware class: a protocol request goes straight to the next layer
    (sync or async alike: the next layer's result, a coroutine under ASGI, is returned as is)."""

    get_response: Callable[[HttpRequest], HttpResponse]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(PROTOCOL_PREFIX):
            return self.get_response(request)
        return super().__call__(request)  # type: ignore[misc]


class CSPMiddleware(_SkippedOnProtocolRoutes, csp.middleware.CSPMiddleware):
    pass


class SessionMiddleware(_SkippedOnProtocolRoutes, sessions.SessionMiddleware):
    pass


class LocaleMiddleware(_SkippedOnProtocolRoutes, locale.LocaleMiddleware):
    pass


class AuthenticationMiddleware(_SkippedOnProtocolRoutes, auth.AuthenticationMiddleware):
    pass


class SessionTimeoutMiddleware(_SkippedOnProtocolRoutes, dashboard_sessions.SessionTimeoutMiddleware):
    pass


class MessageMiddleware(_SkippedOnProtocolRoutes, messages.MessageMiddleware):
    pass
