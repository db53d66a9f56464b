"""`{% load details %}`: a JSON object (payment metadata, an audit entry's detail) as readable
key/value rows instead of a Python dict: `{% for key, value in obj|kv_items %}`.

Amounts inside are shown with the one formatter when the object says their asset: a key
`amount` (or ending in `_amount`) next to `asset`, or a key ending in `_wei` / `_token`."""

from __future__ import annotations

import json
from typing import Any

from django import template

from ops.amounts import ASSETS, format_amount

register = template.Library()


def _as_amount(key: str, value: Any, asset: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    text = str(value)
    if not text.isdigit() or len(text) > 78:
        return None
    if key.endswith("_wei"):
        return format_amount(int(text), "wei")
    if key.endswith("_token"):
        return format_amount(int(text), "token")
    if (key == "amount" or key.endswith("_amount")) and asset in ASSETS:
        return format_amount(int(text), asset)
    return None


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        if isinstance(value, list) and all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
            return ", ".join(str(v) for v in value) or "—"
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


@register.filter
def kv_items(obj: Any) -> list[tuple[str, str]]:
    """[(key, readable value), …] in key order; a non-object becomes one ("value", text) row."""
    if obj in (None, "", {}):
        return []
    if not isinstance(obj, dict):
        return [("value", _text(obj))]
    asset = obj.get("asset")
    rows = []
    for key in sorted(obj, key=str):
        value = obj[key]
        shown = _as_amount(str(key), value, asset)
        rows.append((str(key).replace("_", " "), shown if shown is not None else _text(value)))
    return rows
