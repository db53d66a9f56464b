"""The one JSON decoder for request bodies (protocol API, link pages, merchant API, idempotency
fingerprints, anything else a client sends): a size limit, a nesting limit checked *before*
`json.loads` runs, UTF-8 only, no NaN/Infinity. Text PostgreSQL cannot store (NUL, lone
surrogates) is legal JSON and harmless in a field nobody reads: whatever stores a client's text
checks it with `unstorable_text` (DRF's CharField does so on its own).

Why the nesting check comes first: `json.loads` recurses in C once per `[` or `{`, and py_ecc
raises Python's recursion limit to 100 000 when it is imported, so a 200 KB body of brackets
overflowed the C stack and killed the process without a log line. The scan below is a single
regular-expression pass (strings skipped, brackets counted) that never recurses, and the
recursion limit is put back by ops.apps at start-up as a second line of defence.

Each surface maps `JsonBodyError` to its own error shape (`status` is 400 or 413)."""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest

# Deeper than any body we accept (protocol updates and metadata are 3-4 levels), far below the
# C stack's reach.
MAX_DEPTH = 32

# A JSON string (it may hold brackets): the unrolled form, linear, no nested repetition.
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonBodyError(ValueError):
    """`status` 400 (`malformed_json`, `json_too_deep`) or 413 (`body_too_large`)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def max_body_bytes() -> int:
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 256 * 1024)


def too_large() -> JsonBodyError:
    return JsonBodyError(413, "body_too_large",
                         f"the request body is larger than {max_body_bytes()} bytes")


def nested_deeper_than(text: str, limit: int) -> bool:
    """Whether `[`/`{` nest deeper than `limit` outside strings (for malformed text: in the
    part a parser reads before it fails, or more). No recursion, and no Python-level loop over
    the body except for hostile input, where it stops at the first level past `limit`."""
    if text.count("[") + text.count("{") <= limit:
        return False
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    remainder = brackets
    for call in range(limit):
        # One replace removes at most one level (it does not rescan what it joined), so an
        # empty remainder after `limit` calls proves the depth is within the limit. Bodies a
        # few levels deep empty out in a few calls.
        remainder = remainder.replace("{}" if call % 2 else "[]", "")
        if not remainder:
            return False
    levels = accumulate(1 if c in "[{" else -1 for c in brackets)
    return any(level > limit for level in levels)


def unstorable_text(value: Any) -> str | None:
    """A description of the first string (key or value, at any depth) holding NUL or a lone
    surrogate, which PostgreSQL text and jsonb cannot hold; None when everything is storable.
    Iterative: safe on any depth."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "NUL characters (\\u0000) are not allowed"
            if _SURROGATE.search(item):
                return "unpaired surrogates (\\ud800-\\udfff) are not allowed"
    return None


def _refuse_constant(name: str) -> Any:
    raise JsonBodyError(400, "malformed_json", f"{name} is not a JSON number")


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH, max_bytes: int | None = None) -> Any:
    """Decode a request body, or raise JsonBodyError. An empty body is an error here: callers
    decide what an absent body means."""
    limit = max_body_bytes() if max_bytes is None else max_bytes
    if len(raw) > limit:
        raise too_large()
    if isinstance(raw, bytes | bytearray | memoryview):
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise JsonBodyError(400, "malformed_json", "the request body is not UTF-8") from None
    else:
        text = raw
    if nested_deeper_than(text, max_depth):
        raise JsonBodyError(400, "json_too_deep", f"the JSON is nested deeper than {max_depth} levels")
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except JsonBodyError:
        raise
    except (ValueError, RecursionError):  # RecursionError: unreachable after the depth check
        raise JsonBodyError(400, "malformed_json", "the request body is not valid JSON") from None
    return data


def request_body(request: HttpRequest) -> bytes:
    """The raw body, or JsonBodyError(413) when it is over the limit (Django's own check reads
    Content-Length; a body without one is measured here)."""
    try:
        raw = request.body
    except RequestDataTooBig:
        raise too_large() from None
    if len(raw) > max_body_bytes():
        raise too_large()
    return raw


def request_json(request: HttpRequest, *, empty: Any = None) -> Any:
    """The decoded JSON body of `request`; `empty` when there is no body."""
    raw = request_body(request)
    if not raw.strip():
        return empty
    return loads(raw)
