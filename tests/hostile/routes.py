"""Every route of the URL configuration, found by walking `get_resolver()`, with its path
parameters filled in; and the corpus of hostile inputs the suite sends to each.

Nothing here names a route: a new route is covered the moment it is added to a urls.py."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils.regex_helper import normalize


@dataclass(frozen=True)
class Route:
    regex: str  # the full pattern, as the resolver joins it
    template: str  # "api/hub/channel/%(user)s/sync"
    params: tuple[str, ...]
    callback: Callable[..., Any]
    name: str

    @property
    def label(self) -> str:
        return "/" + self.template.replace("%(", "<").replace(")s", ">")


def _walk(resolver: URLResolver, prefix: str) -> Iterator[tuple[str, URLPattern]]:
    for entry in resolver.url_patterns:
        regex = prefix + str(entry.pattern.regex.pattern).lstrip("^")
        if isinstance(entry, URLResolver):
            yield from _walk(entry, regex.rstrip("$") if regex.endswith("$") else regex)
        else:
            yield regex, entry


def all_routes() -> list[Route]:
    routes = []
    for regex, entry in _walk(get_resolver(), ""):
        template, params = normalize(regex)[0]
        routes.append(Route(regex, template, tuple(params), entry.callback,
                            entry.name or getattr(entry.callback, "__name__", "?")))
    return routes


def same_route(path: str, route: Route) -> bool:
    """Whether `path` reaches `route` (and not a catch-all after it)."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.func is route.callback


# --- path parameters --------------------------------------------------------------------------

ADDRESS = "0x" + "ab" * 20
HOSTILE_PATH_VALUES = ["%00", "9" * 5000, "-1", "%ED%A0%80", "0", "1.5", "%FF%FE", "x" * 300,
                       "..%2F..%2Fetc", "%3Cscript%3E", "1e400", ADDRESS.upper()]
SHORT = 2  # the first few, for the admin's many look-alike routes
# Tried in order for a parameter the world has no value for: the first that reaches the route.
GENERIC_VALUES = ["1", "0x" + "00" * 20, "lnk_" + "0" * 24, "pur_" + "0" * 32, "inv_" + "0" * 24,
                  "active", "payments", "abc"]


def fill(route: Route, values: dict[str, str]) -> tuple[str, dict[str, str]] | None:
    """A path for `route` with each parameter from `values` (or the first generic value that
    reaches the route), and the values used; None when no combination does."""
    chosen: dict[str, str] = {}
    for name in route.params:
        candidates = ([values[name]] if name in values else []) + GENERIC_VALUES
        for candidate in candidates:
            trial = {**{p: values.get(p, GENERIC_VALUES[0]) for p in route.params}, **chosen, name: candidate}
            if _reaches(route, trial, name):
                chosen[name] = candidate
                break
        else:
            return None
    path = "/" + route.template % chosen
    return (path, chosen) if same_route(path, route) else None


def _reaches(route: Route, trial: dict[str, str], name: str) -> bool:
    # Only this parameter's own sub-pattern matters here; the full path is checked at the end.
    pattern = re.compile(route.regex)
    path = route.template % trial
    match = pattern.match(path)
    return bool(match) and match.groupdict().get(name) == trial[name]


def hostile_paths(route: Route, good: dict[str, str], *, short: bool = False) -> Iterator[tuple[str, str]]:
    """(label, path) with one parameter replaced by a hostile value, when the route takes it."""
    base = dict(good)
    for name in route.params:
        for value in HOSTILE_PATH_VALUES[:SHORT] if short else HOSTILE_PATH_VALUES:
            path = "/" + route.template % {**base, name: value}
            if same_route(path, route):
                yield f"path {name}={value[:12]}", path


# --- bodies -----------------------------------------------------------------------------------

# Field names the platform reads from bodies and query strings (the HTML forms add their own,
# read from the page). Each hostile body sets all of them at once.
FIELDS = [
    "amount", "asset", "metadata", "meta", "payments", "secret", "address", "recipient", "to",
    "exchangeRate", "depositWei", "depositToken", "sigUser", "sigHub", "lastChanTx",
    "lastThreadUpdateId", "updates", "txCount", "weiToSell", "tokensToSell", "withdrawalWeiUser",
    "withdrawalTokenUser", "amountWei", "amountToken", "payoutAsset", "description", "order_id",
    "expires_in", "expires_at", "url", "event_types", "enabled_events", "name", "kind", "access",
    "note", "payment", "payment_id", "invoice", "reason", "payout_address", "threshold", "limit",
    "starting_after", "ending_before", "type", "status", "created", "id", "state", "invoiceId",
    "threadId", "sender", "receiver", "balanceWeiSender", "balanceTokenSender", "timeout",
    "time_zone",
]
QUERY_FIELDS = ["limit", "starting_after", "ending_before", "page", "status", "type", "q", "cursor",
                "start", "end", "kind", "lastChanTx", "lastThreadUpdateId", "created[gte]",
                "since", "merchant", "o", "p", "all", "_changelist_filters", "sort", "meta", "range"]

BIG_DIGITS = "9" * 5000
VALUES: dict[str, Any] = {
    "nul": "a\u0000b",
    "surrogate": "\ud800",
    "digits": BIG_DIGITS,
    "negative": "-1",
    "negative_number": -1,
    "float": 1.5,
    "float_text": "1e400",
    "huge_float": 1e308,
    "list": [],
    "object": {"a": {"b": [1, {"c": None}]}},
    "null": None,
    "long_text": "x" * 3000,
}


@dataclass(frozen=True)
class Body:
    label: str
    content_type: str
    data: bytes


def _soup(value: Any, fields: list[str]) -> bytes:
    return json.dumps({name: value for name in fields}).encode("utf-8", "surrogatepass")


def json_bodies(fields: list[str]) -> list[Body]:
    jt = "application/json"
    bodies = [Body(f"json {label}", jt, _soup(value, fields)) for label, value in VALUES.items()]
    bodies += [
        Body("json nested arrays 200 KB", jt, b"[" * 100_000 + b"]" * 100_000),
        Body("json nested objects", jt, b'{"a":' * 5000 + b"1" + b"}" * 5000),
        Body("json 300 KB", jt, json.dumps({"description": "x" * 300_000}).encode()),
        Body("json number of 5000 digits", jt, b'{"amount": ' + BIG_DIGITS.encode() + b"}"),
        Body("json NaN", jt, b'{"amount": NaN, "limit": Infinity}'),
        Body("json invalid UTF-8", jt, b'{"name": "\xff\xfe\xc0\xaf"}'),
        Body("json truncated", jt, b'{"amount": "1'),
        Body("json top-level array", jt, b"[1, 2, 3]"),
        Body("json top-level string", jt, b'"x"'),
        Body("json unknown fields", jt, b'{"unknown_field": 1, "__proto__": {"admin": true}}'),
        Body("json escaped NUL key", jt, b'{"\\u0000": "\\u0000"}'),
    ]
    return bodies


def _form(value: str, fields: list[str]) -> bytes:
    return "&".join(f"{name}={value}" for name in fields).encode()


FORM_VALUES = {"nul": "a%00b", "digits": BIG_DIGITS, "negative": "-1", "float": "1.5e400",
               "invalid_utf8": "%FF%FE%C0%AF", "surrogate": "%ED%A0%80", "empty": "", "long": "x" * 3000}


def form_bodies(fields: list[str]) -> list[Body]:
    ft = "application/x-www-form-urlencoded"
    bodies = [Body(f"form {label}", ft, _form(value, fields)) for label, value in FORM_VALUES.items()]
    bodies += [
        Body("form garbage", ft, b"%%%&&&==\xff\x00=%ZZ&a[]=1&a[0][1]=2"),
        Body("multipart broken", "multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data"),
        Body("multipart no boundary", "multipart/form-data", b"garbage"),
        Body("text/plain", "text/plain", b"hello"),
        Body("xml", "application/xml", b"<?xml version='1.0'?><!DOCTYPE a [<!ENTITY b 'c'>]><a>&b;</a>"),
        Body("octet-stream", "application/octet-stream", bytes(range(256))),
        Body("json with a form type", ft, b'{"amount": "1"}'),
    ]
    return bodies


def queries(fields: list[str]) -> list[tuple[str, str]]:
    names = QUERY_FIELDS + [f for f in fields if f not in QUERY_FIELDS]
    return [(f"query {label}", "&".join(f"{n}={value}" for n in names))
            for label, value in (("nul", "%00"), ("digits", "9" * 5000), ("invalid utf8", "%FF%ED%A0%80"),
                                 ("negative", "-1"), ("float", "1.5e400"))]


def form_field_names(html: str) -> list[str]:
    names = set(re.findall(r'name="([A-Za-z0-9_\-\[\]]{1,60})"', html))
    # "post" is the admin's delete confirmation, "csrfmiddlewaretoken" the client's to send.
    return sorted(names - {"csrfmiddlewaretoken", "post", "next"})
