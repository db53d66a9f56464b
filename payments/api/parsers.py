"""The merchant API's only parser (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES): JSON decoded by
ops.jsonbody, so the API has the same size and nesting limits as every other surface. DRF's
own JSONParser is not used: it would recurse without a depth limit and read past the size
limit."""

from __future__ import annotations

from typing import Any

from rest_framework.parsers import BaseParser

from ops import jsonbody
from payments.errors import PaymentsError

# A JSON body that breaks a limit, as the API's error codes.
_CODES = {"body_too_large": "body_too_large", "json_too_deep": "parse_error",
          "malformed_json": "parse_error"}


def body_error(exc: jsonbody.JsonBodyError) -> PaymentsError:
    return PaymentsError(_CODES.get(exc.code, "parse_error"), exc.message)


class JSONBodyParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        if stream is None:
            return {}
        limit = jsonbody.max_body_bytes()
        raw = stream.read(limit + 1)
        try:
            if len(raw) > limit:
                raise jsonbody.too_large()
            if not raw.strip():
                return {}
            return jsonbody.loads(raw)
        except jsonbody.JsonBodyError as exc:
            raise body_error(exc) from None
