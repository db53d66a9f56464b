"""Refusals that hold for every route, answered in the error shape of the route's surface."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


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
