"""Session lifetime for signed-in people (dashboard and operator admin): an idle timeout and an
absolute one (ASVS 3.3.2, 3.3.3). Both are measured from timestamps the sign-in writes into the
session, so this holds whatever the session backend's own expiry says."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

SESSION_SIGNED_IN_AT = "signed_in_at"
SESSION_LAST_SEEN = "last_seen_at"
LAST_SEEN_GRANULARITY = 30  # seconds: no session write just to move the clock a little


def session_start(request: HttpRequest, *, now: float | None = None) -> None:
    now = time.time() if now is None else now
    request.session[SESSION_SIGNED_IN_AT] = now
    request.session[SESSION_LAST_SEEN] = now


def session_expired(session: object, now: float) -> bool:
    signed_in_at = session.get(SESSION_SIGNED_IN_AT)  # type: ignore[attr-defined]
    if signed_in_at is None:
        return False
    last_seen = session.get(SESSION_LAST_SEEN, signed_in_at)  # type: ignore[attr-defined]
    return (now - float(signed_in_at) > settings.SESSION_ABSOLUTE_TIMEOUT
            or now - float(last_seen) > settings.SESSION_IDLE_TIMEOUT)


def _passive(request: HttpRequest) -> bool:
    """Requests the page makes by itself: the live-update poll, and the in-place refreshes htmx
    fetches when an event arrives (GETs carrying HX-Request). Neither is the person's activity."""
    return bool(getattr(request, "session_passive", False)
                or (request.method == "GET" and request.headers.get("HX-Request") == "true"))


class SessionTimeoutMiddleware:
    """Signs out a session idle for SESSION_IDLE_TIMEOUT or older than SESSION_ABSOLUTE_TIMEOUT.
    Background requests (`_passive`) do not count as activity."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        now = time.time()
        if session_expired(request.session, now):
            logout(request)
            request.session_timed_out = True  # type: ignore[attr-defined]
        response = self.get_response(request)
        session = request.session
        if (session.get(SESSION_SIGNED_IN_AT) is not None and not _passive(request)
                and now - float(session.get(SESSION_LAST_SEEN, 0)) >= LAST_SEEN_GRANULARITY):
            session[SESSION_LAST_SEEN] = now
        return response
