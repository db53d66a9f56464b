"""The protocol API's plumbing: JSON in and out, signature auth, owner checks, and one error
shape. The Connext client only looks at the status and reads the body as text, and the Python
client reads `error` (the message) and `code`; both are kept, and the fields of the merchant
API's error are added beside them, so one parser reads both APIs:
`{"error": message, "code", "message", "type", "param", "request_id"}` (hub/api/ERRORS.md).
Views stay thin: parse, call one service, render."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hub.auth import AuthFailed, authenticate, is_operator
from hub.channels.errors import ChannelError
from hub.core import InvariantViolation, UpdateRejected
from ops import jsonbody
from ops.middleware import current_request

logger = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_type(status: int) -> str:
    """The merchant API's error types, by status (payments/errors.py)."""
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "api_error"
    return "invalid_request_error"


def error_response(status: int, code: str, message: str, param: str | None = None) -> JsonResponse:
    return JsonResponse({
        "error": message, "code": code, "message": message, "type": error_type(status),
        "param": param, "request_id": current_request()[0],
    }, status=status)


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The body as a JSON object ({} when empty), decoded by ops.jsonbody (size and depth
    limits)."""
    try:
        data = jsonbody.request_json(request, empty={})
    except jsonbody.JsonBodyError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "the request body must be a JSON object")
    return data


def protocol_view(*, methods: tuple[str, ...], auth: bool = True,
                  owner_param: str | None = None, others_allowed: bool = False) -> Callable[[View], View]:
    """Wrap a protocol view: method check, auth (`request.address`), owner check on `:user`
    routes (an operator may act for anyone; with `others_allowed`, another authenticated user
    passes too and the view reads `request.is_owner` to answer them a redacted view), and error
    mapping. Nothing is written when a view
    raises: services are atomic."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return error_response(405, "method_not_allowed", f"{request.method} not allowed")
            try:
                if auth:
                    request.address = authenticate(  # type: ignore[attr-defined]
                        request.headers.get("x-address"), request.headers.get("x-nonce"),
                        request.headers.get("x-signature"))
                if owner_param is not None:
                    owner = str(kwargs.get(owner_param, "")).lower()
                    caller = request.address  # type: ignore[attr-defined]
                    request.is_owner = owner == caller or is_operator(caller)  # type: ignore[attr-defined]
                    if not request.is_owner and not others_allowed:  # type: ignore[attr-defined]
                        raise ApiError(403, "not_owner", "this route is only for its own user")
                    kwargs[owner_param] = owner
                return view(request, *args, **kwargs)
            except AuthFailed as exc:
                return error_response(403, exc.code, exc.message)
            except ApiError as exc:
                return error_response(exc.status, exc.code, exc.message)
            except UpdateRejected as exc:
                return error_response(400, exc.code, exc.message)
            except ChannelError as exc:
                return error_response(exc.status, exc.code, exc.message)
            except InvariantViolation:
                logger.exception("invariant violation in %s", view.__name__)
                return error_response(500, "internal_error", "internal error")

        wrapper.protocol_methods = methods  # type: ignore[attr-defined]
        wrapper.protocol_auth = auth  # type: ignore[attr-defined]  # read by tests and the schema
        wrapper.protocol_others_allowed = others_allowed  # type: ignore[attr-defined]
        return wrapper

    return decorate


def parse_int_param(value: str | None, name: str, default: int = 0) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ApiError(400, "bad_args", f"{name} must be an integer") from None
    if number < 0:
        raise ApiError(400, "bad_args", f"{name} must not be negative")
    return number
