"""The base of every merchant API view: API-key auth, per-resource access, rate limit, one error
shape, and idempotent POSTs (see payments/idempotency/services.py)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpResponse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ops import jsonbody
from payments.api.auth import ApiKeyAuthentication, ApiKeyPrincipal, ResourceAccess
from payments.api.errors import exception_handler
from payments.api.parsers import JSONBodyParser, body_error
from payments.api.ratelimit import ApiKeyRateThrottle
from payments.errors import PaymentsError
from payments.idempotency.models import IdempotencyRecord
from payments.idempotency.services import (
    Replay,
    idempotency_abandon,
    idempotency_begin,
    idempotency_complete,
    idempotency_lock,
    request_fingerprint,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"


class JSONOnly(BaseContentNegotiation):
    """Always JSON, whatever the Accept header says."""

    def select_parser(self, request: Request, parsers: Any) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Request, renderers: Any, format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


class _ReplayResponse(Exception):
    def __init__(self, replay: Replay) -> None:
        self.replay = replay


class _Rollback(Exception):
    pass


class MerchantAPIView(APIView):
    resource: str = ""
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [ResourceAccess]
    throttle_classes = [ApiKeyRateThrottle]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONBodyParser]
    content_negotiation_class = JSONOnly

    _atomic: Any = None
    _record: IdempotencyRecord | None = None

    def get_exception_handler(self) -> Any:
        return exception_handler

    @property
    def merchant_id(self) -> int:
        principal = self.request.user
        assert isinstance(principal, ApiKeyPrincipal)
        return principal.merchant_id

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        for name, values in request.query_params.lists():
            if any("\x00" in v for v in values):
                raise PaymentsError("parameter_invalid", "NUL characters are not allowed", param=name)
        if request.method != "POST":
            return
        key = request.headers.get(IDEMPOTENCY_HEADER)
        record = None
        if key is not None:
            try:
                raw = jsonbody.request_body(request)
            except jsonbody.JsonBodyError as exc:
                raise body_error(exc) from None
            fingerprint = request_fingerprint(request.method, request.path, raw)
            outcome = idempotency_begin(api_key_id=request.auth.pk, key=key, fingerprint=fingerprint)
            if isinstance(outcome, Replay):
                raise _ReplayResponse(outcome)
            record = outcome
        # Every POST runs in one transaction with its idempotency record's completion.
        atomic = transaction.atomic()
        atomic.__enter__()
        if record is not None and not idempotency_lock(record):
            atomic.__exit__(_Rollback, _Rollback(), None)
            raise PaymentsError("idempotency_in_progress", "a request with this Idempotency-Key is running",
                                param=IDEMPOTENCY_HEADER)
        self._atomic, self._record = atomic, record

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, _ReplayResponse):
            response = HttpResponse(exc.replay.body, status=exc.replay.status,
                                    content_type=exc.replay.content_type or "application/json")
            response["Idempotent-Replayed"] = "true"
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        atomic, record = self._atomic, self._record
        if atomic is None:
            return response
        self._atomic = self._record = None
        failed = response.status_code >= 500
        try:
            if isinstance(response, Response) and not failed:
                # A view may name a different body to keep for Idempotency-Key replays, e.g.
                # without a secret it shows once (`response.replay_data`).
                replay = getattr(response, "replay_data", None)
                response.render()
                if record is not None:
                    body = bytes(response.content) if replay is None else JSONRenderer().render(replay)
                    idempotency_complete(record, status=response.status_code, body=body,
                                         content_type=response.get("Content-Type", "application/json"))
        except Exception:
            atomic.__exit__(_Rollback, _Rollback(), None)
            if record is not None:
                idempotency_abandon(record)
            raise
        if failed:
            atomic.__exit__(_Rollback, _Rollback(), None)
            if record is not None:
                idempotency_abandon(record)
        else:
            atomic.__exit__(None, None, None)
        return response

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().dispatch(request, *args, **kwargs)
        finally:
            if self._atomic is not None:  # never left open, whatever happened
                atomic, self._atomic = self._atomic, None
                atomic.__exit__(_Rollback, _Rollback(), None)


def body_or_error(serializer_class: type, request: Request) -> dict[str, Any]:
    """Validate the JSON body with `serializer_class`; DRF's ValidationError on failure."""
    if not isinstance(request.data, dict):
        raise PaymentsError("parameter_invalid", "the body is a JSON object")
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def query_choice(request: Request, name: str, choices: list[str] | tuple[str, ...]) -> str | None:
    value = request.query_params.get(name)
    if value is not None and value not in choices:
        raise PaymentsError("parameter_invalid", f"{name} is one of {', '.join(choices)}", param=name)
    return value
