"""The docs page of /api/v1/, rendered on the server from the guide (guide.md), the OpenAPI
document (every operation with its description, parameters and examples), the error codes and
the event catalogue. Markdown goes through markdown-it (raw HTML off: text is escaped)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.html import escape
from markdown_it import MarkdownIt

from payments.api.schema import generated_schema
from payments.errors import CODES
from payments.events.api import event_type_rows
from payments.events.catalogue import API_VERSION
from payments.events.openapi import example_value

_MD = MarkdownIt("commonmark", {"html": False}).enable("table")
GUIDE = Path(__file__).with_name("guide.md")


def _heading_ids(state: Any) -> None:
    """An id on every heading (its slug), for the page's contents links."""
    tokens = state.tokens
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and index + 1 < len(tokens):
            token.attrSet("id", _slug(tokens[index + 1].content))


_MD.core.ruler.push("heading_ids", _heading_ids)


def markdown(text: str) -> str:
    return str(_MD.render(text))


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def _resolve(schema: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _type_of(schema: dict[str, Any], node: Any) -> str:
    node = _resolve(schema, node) or {}
    if "enum" in node:
        return " | ".join(str(v) for v in node["enum"])
    kind = node.get("type", "object")
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


def _example(schema: dict[str, Any], content: dict[str, Any]) -> Any:
    if content.get("examples"):
        return next(iter(content["examples"].values())).get("value")
    if "example" in content:
        return content["example"]
    return example_value(content.get("schema", {}), schema["components"]["schemas"])


def _pre(value: Any) -> str:
    return f"<pre><code>{escape(json.dumps(value, indent=2))}</code></pre>"


def _fields(schema: dict[str, Any], node: Any) -> str:
    node = _resolve(schema, node) or {}
    props = node.get("properties") or {}
    if not props:
        return ""
    required = set(node.get("required", ()))
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code>{' (required)' if name in required else ''}</td>"
        f"<td>{escape(_type_of(schema, sub))}</td>"
        f"<td>{markdown((_resolve(schema, sub) or {}).get('description', '') or sub.get('description', ''))}</td></tr>"
        for name, sub in props.items())
    return f"<table><tr><th>field</th><th>type</th><th>description</th></tr>{rows}</table>"


def _operations(schema: dict[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    html, nav = [], []
    for path, item in schema.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "post", "delete", "put", "patch"):
                continue
            anchor = op.get("operationId", _slug(method + path))
            nav.append((anchor, f"{method.upper()} {path}"))
            parts = [f'<section class="op" id="{escape(anchor)}"><h3><span class="method {method}">'
                     f"{method}</span><code>{escape(path)}</code></h3>"]
            if op.get("description"):
                parts.append(markdown(op["description"]))
            params = [p for p in op.get("parameters", []) if p.get("name") != "Idempotency-Key"]
            if params:
                rows = "".join(
                    f"<tr><td><code>{escape(p['name'])}</code></td><td>{escape(p['in'])}</td>"
                    f"<td>{escape(_type_of(schema, p.get('schema', {})))}</td>"
                    f"<td>{markdown(p.get('description', ''))}</td></tr>" for p in params)
                parts.append("<table><tr><th>parameter</th><th>in</th><th>type</th><th>description</th>"
                             f"</tr>{rows}</table>")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                parts.append("<h4>Request body</h4>" + _fields(schema, body.get("schema")))
                parts.append(_pre(_example(schema, body)))
            for status, response in op.get("responses", {}).items():
                content = (response.get("content") or {}).get("application/json")
                if status < "300" and content:
                    parts.append(f"<h4>Response {escape(status)}</h4>" + _pre(_example(schema, content)))
            parts.append("</section>")
            html.append("".join(parts))
    return "".join(html), nav


def _errors() -> str:
    rows = "".join(f"<tr><td><code>{code}</code></td><td>{c.status}</td><td>{c.type}</td></tr>"
                   for code, c in CODES.items())
    return f"<table><tr><th>code</th><th>status</th><th>type</th></tr>{rows}</table>"


def _events() -> str:
    parts = []
    for row in event_type_rows():
        parts.append(f'<section class="op" id="event-{escape(row["id"])}"><h3><code>{escape(row["id"])}</code></h3>'
                     f"{markdown(row['description'])}<p>data.object: <code>{escape(row['data_object'])}</code>"
                     f"</p>{_fields({'components': {'schemas': {}}}, row['object_schema'])}"
                     f"<details><summary>Example</summary>{_pre(row['example'])}</details></section>")
    return "".join(parts)


@cache
def _reference() -> tuple[str, list[tuple[str, str]], str, str]:
    schema = generated_schema()
    operations, nav = _operations(schema)
    return operations, nav, _errors(), _events()


def docs_page(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri("/")
    guide = GUIDE.read_text().replace("{base}", base).replace("{api_version}", API_VERSION)
    operations, nav, errors, events = _reference()
    return HttpResponse(render_to_string("payments/api_docs.html", {
        "guide": markdown(guide), "operations": operations, "nav": nav, "errors": errors,
        "events": events,
    }, request=request))
