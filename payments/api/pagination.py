"""Cursor pagination, Stripe style: `limit` (1..100, default 10), `starting_after` or
`ending_before` (an object id), newest first; `{"object": "list", "url", "has_more", "data"}`."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from payments.errors import PaymentsError

DEFAULT_LIMIT, MAX_LIMIT = 10, 100

PAGINATION_PARAMETERS = [
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                     description="1..100, default 10"),
    OpenApiParameter("starting_after", OpenApiTypes.STR, description="an object id: the page after it"),
    OpenApiParameter("ending_before", OpenApiTypes.STR, description="an object id: the page before it (ignored with starting_after)"),
]


@cache
def list_serializer(item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    name = item.__name__.removesuffix("Serializer") + "ListSerializer"
    return type(name, (serializers.Serializer,), {
        "object": serializers.ChoiceField(choices=["list"]),
        "url": serializers.CharField(),
        "has_more": serializers.BooleanField(),
        "data": item(many=True),
    })


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    # at most 4 digits before int(): int() of thousands of digits is slow, and past 4300 raises
    if not raw.isdigit() or not raw.isascii() or len(raw) > 4 or not 1 <= int(raw) <= MAX_LIMIT:
        raise PaymentsError("parameter_invalid", f"limit is 1..{MAX_LIMIT}", param="limit")
    return int(raw)


def paginate(request: Request, rows: QuerySet[Any], serializer: type[serializers.Serializer],
             *, cursor: Callable[[str], int | None] | None = None) -> dict[str, Any]:
    """A page of `rows` (ordered by pk, newest first). Cursors are public ids, or whatever
    `cursor` turns into a pk."""
    limit = _limit(request)
    after = request.query_params.get("starting_after")
    before = request.query_params.get("ending_before")
    if after is not None:
        before = None  # documented: starting_after wins when both are given
    given = after if after is not None else before
    cursor_pk = None
    if given is not None:
        param = "starting_after" if after is not None else "ending_before"
        if cursor is None:
            cursor_pk = rows.filter(public_id=given).values_list("pk", flat=True).first()
        else:
            pk = cursor(given)
            cursor_pk = None if pk is None else rows.filter(pk=pk).values_list("pk", flat=True).first()
        if cursor_pk is None:
            raise PaymentsError("cursor_invalid", "no such object in this list", param=param)
    if before is not None:
        page = list(rows.filter(pk__gt=cursor_pk).order_by("pk")[: limit + 1])
        has_more = len(page) > limit
        page = page[:limit][::-1]
    else:
        if after is not None:
            rows = rows.filter(pk__lt=cursor_pk)
        page = list(rows.order_by("-pk")[: limit + 1])
        has_more = len(page) > limit
        page = page[:limit]
    return {"object": "list", "url": request.path, "has_more": has_more,
            "data": serializer(page, many=True).data}
