"""Refusals that hold for every route, answered in the error shape of the route's surface."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import csp.middleware
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, connections
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


# --- The hot protocol routes' shorter chain ------------------------------------------------------
# A payment (POST /api/hub/payments/purchase) is the request the hub serves most. From here it
# goes straight to its view, resolved once, through the middleware below this one that does
# something for it (the security headers, CommonMiddleware's host check and Content-Length,
# X-Frame-Options, and any middleware added later); it skips the URL resolver's walk and the
# layers that pass a protocol request on untouched: those skipped on /api/hub/ above, and CSRF
# (every protocol view is csrf_exempt and, without a cookie, Django's CSRF middleware does
# nothing at all). A request with a cookie or a query string takes the whole chain. Same view,
# same answers, byte for byte (tests/hub/api/test_hot_path.py).

HOT_ROUTES = frozenset({"/api/hub/payments/purchase"})

# CONN_HEALTH_CHECKS sends a `SELECT 1` before a request's first query on a persistent
# connection: a round trip, and 4-9% of a web process's samples on the purchase path (py-spy,
# bench/payments_bench.py). A hot route skips it on a connection that served a hot request less
# than a second ago (under load, every request). Should that connection have died meanwhile
# (PostgreSQL restarted), the request's first query fails: the connection is closed and the
# request answered 503 `database_unavailable` (services are atomic: nothing of it was written,
# unless the connection died during its COMMIT, which no server can tell apart), and
# the thread's next request connects again. A connection idle longer is checked as before.
RECENT_CONNECTION = 1.0  # seconds


def _with_recent_connection(view: Callable[[], HttpResponse]) -> HttpResponse:
    db = connections[DEFAULT_DB_ALIAS]
    skipped = (db.connection is not None and not db.health_check_done and not db.errors_occurred
               and time.monotonic() - getattr(db, "hot_used_at", -RECENT_CONNECTION) < RECENT_CONNECTION)
    if skipped:
        db.health_check_done = True
    raw = db.connection
    try:
        response = view()
    except (DatabaseError, InterfaceError):
        if not skipped or (db.connection is raw and db.is_usable()):
            raise  # not the connection's death: as before
        db.close()
        from hub.api.base import error_response

        return error_response(503, "database_unavailable", "the database connection was lost; read the channel state, then try again")
    if db.connection is not None:
        db.hot_used_at = time.monotonic()
    return response


def _passes_protocol_requests(path: str) -> bool:
    """Whether the middleware at `path` passes a hot route's request (no cookie) on untouched."""
    from django.middleware.csrf import CsrfViewMiddleware
    from django.utils.module_loading import import_string

    cls = import_string(path)
    return issubclass(cls, _SkippedOnProtocolRoutes | RefuseNulMiddleware | HotRoutesMiddleware) \
        or cls is CsrfViewMiddleware


class HotRoutesMiddleware:
    """The hot protocol routes' shorter chain (above). Sits in MIDDLEWARE after the request id and
    the NUL refusal; the rest of the list decides the chain it builds."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._chain: Callable[[HttpRequest], HttpResponse] | None = None
        self._views: dict[str, Any] = {}

    def _build(self) -> Callable[[HttpRequest], HttpResponse] | None:
        from django.conf import settings
        from django.core.handlers.exception import convert_exception_to_response
        from django.urls import resolve
        from django.utils.module_loading import import_string

        if any(db.get("ATOMIC_REQUESTS") for db in settings.DATABASES.values()):
            return None
        names = list(settings.MIDDLEWARE)
        own = f"{type(self).__module__}.{type(self).__qualname__}"
        if own not in names:
            return None
        kept = [import_string(path) for path in names[names.index(own) + 1:]
                if not _passes_protocol_requests(path)]
        self._views = {path: resolve(path) for path in HOT_ROUTES}
        handler = convert_exception_to_response(self._view)
        views = []
        for cls in reversed(kept):
            middleware = cls(handler)
            if hasattr(middleware, "process_view"):
                views.insert(0, middleware.process_view)
            handler = convert_exception_to_response(middleware)
        self._process_view = views
        return handler

    def _view(self, request: HttpRequest) -> HttpResponse:
        """Django's _get_response for an already resolved route (no template responses here)."""
        match = self._views[request.path_info]
        request.resolver_match = match
        for process_view in self._process_view:
            response = process_view(request, match.func, match.args, match.kwargs)
            if response:
                return response  # type: ignore[no-any-return]
        response = _with_recent_connection(lambda: match.func(request, *match.args, **match.kwargs))
        if not isinstance(response, HttpResponse):
            raise ValueError(f"the view {match.func.__qualname__} did not return an HttpResponse")
        return response  # type: ignore[no-any-return]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (request.path_info not in HOT_ROUTES or request.META.get("HTTP_COOKIE")
                or request.META.get("QUERY_STRING")):
            return self.get_response(request)
        if self._chain is None:
            self._chain = self._build() or self.get_response
        return self._chain(request)
