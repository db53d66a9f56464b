"""A request id on every response (`Request-Id`), available to views as `request.request_id`."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.request_id = "req_" + secrets.token_hex(12)  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["Request-Id"] = request.request_id  # type: ignore[attr-defined]
        return response
