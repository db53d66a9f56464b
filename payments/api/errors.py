"""One error shape for the whole API: `{"error": {"type", "code", "message", "param",
"request_id"}}`, for our refusals, DRF's validation/auth/throttle errors, 404, 405 and 500."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from payments.errors import CODES, PaymentsError

logger = logging.getLogger(__name__)


def _utf8(text: str | None) -> str | None:
    # A message may quote the client's input, which can hold a lone surrogate (legal in JSON
    # text, not encodable as UTF-8): the error must still render.
    return None if text is None else text.encode("utf-8", "replace").decode("utf-8")


def error_body(request: Any, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    return {"error": {
        "type": CODES[code].type, "code": code, "message": _utf8(message), "param": _utf8(param),
        "request_id": getattr(request, "request_id", None),
    }}


def _first_error(detail: Any, path: str = "") -> tuple[str | None, Any]:
    """(param, the first ErrorDetail) of a DRF validation error."""
    if isinstance(detail, dict) and detail:
        name, inner = next(iter(detail.items()))
        key = str(name) if name != "non_field_errors" else ""
        return _first_error(inner, f"{path}[{key}]" if path and key else (key or path))
    if isinstance(detail, list) and detail:
        if all(not isinstance(d, dict | list) for d in detail):
            return path or None, detail[0]
        for index, inner in enumerate(detail):
            if inner:
                return _first_error(inner, f"{path}[{index}]")
    return path or None, detail


def translate(exc: Exception) -> tuple[str, str, str | None, dict[str, str]]:
    """(code, message, param, extra headers) for any exception."""
    if isinstance(exc, PaymentsError):
        return exc.code, exc.message, exc.param, {}
    if isinstance(exc, exceptions.ValidationError):
        param, detail = _first_error(exc.detail)
        # a required field that was not sent (DRF's "required"; "null" is a value sent)
        missing = getattr(detail, "code", None) == "required"
        return ("parameter_missing" if missing else "parameter_invalid"), str(detail), param, {}
    if isinstance(exc, exceptions.NotAuthenticated):
        return ("authentication_required", "send an API key: Authorization: Bearer <key>", None,
                {"WWW-Authenticate": 'Bearer realm="api"'})
    if isinstance(exc, exceptions.AuthenticationFailed):
        return ("api_key_invalid", "the API key is invalid, revoked or expired", None,
                {"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'})
    if isinstance(exc, exceptions.PermissionDenied):
        return "permission_denied", str(exc.detail), None, {}
    if isinstance(exc, Http404 | exceptions.NotFound | ObjectDoesNotExist):
        return "resource_missing", "no such object", None, {}
    if isinstance(exc, exceptions.MethodNotAllowed):
        return "method_not_allowed", str(exc.detail), None, {}
    if isinstance(exc, exceptions.Throttled):
        wait = max(1, math.ceil(float(getattr(exc, "wait", None) or 1)))
        return "rate_limited", "too many requests for this API key", None, {"Retry-After": str(wait)}
    if isinstance(exc, exceptions.ParseError):
        return "parse_error", "the body is not valid JSON", None, {}
    return "api_error", "something went wrong on our side", None, {}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    code, message, param, headers = translate(exc)
    if code == "api_error":
        logger.exception("merchant API error (request %s)", getattr(request, "request_id", None),
                         exc_info=exc)
    response = Response(error_body(request, code, message, param), status=CODES[code].status)
    for name, value in headers.items():
        response[name] = value
    return response


def json_error(request: HttpRequest, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(request, code, message), status=CODES[code].status)


def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown paths under /api/v1/."""
    return json_error(request, "resource_missing", "no such endpoint")
