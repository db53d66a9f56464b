"""Link secrets leave a purchase request before anything else sees it.

A payment may carry a secret (PT_LINK: whoever knows it can redeem the link). The purchase
route removes every secret from the request first (`secrets_scrub`), before anything is parsed,
stored, logged or echoed; from then on only `PaymentRequest.secret` holds one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_HEX = re.compile(r"0x[0-9a-fA-F]+")

_SCRUBBED_KEY = "secret"
_MIN_SCRUBBED_LENGTH = 16  # shorter "secrets" are refused anyway; scrubbing them would eat the request


def secrets_scrub(value: Any) -> tuple[Any, list[str]]:
    """`value` (parsed JSON from a request) without any link secret, and the secrets removed.

    A secret is the value of a `secret` key at any depth (payment meta, purchase meta, nested
    objects: wallets differ in where they put it). Once known, it is also removed from every other
    string that contains it, in any case and with or without `0x`. What is returned may be stored,
    logged and echoed; the secrets only hashed."""
    found: list[str] = []

    def collect(node: Any) -> Any:
        if isinstance(node, Mapping):
            kept = {}
            for key, item in node.items():
                if isinstance(key, str) and key.lower() == _SCRUBBED_KEY:
                    if isinstance(item, str):
                        found.append(item)
                    continue
                kept[key] = collect(item)
            return kept
        if isinstance(node, list):
            return [collect(item) for item in node]
        return node

    cleaned = collect(value)
    needles = {v.lower() for s in found for v in _variants(s) if len(v) >= _MIN_SCRUBBED_LENGTH}
    if not needles:
        return cleaned, found

    def leaks(text: str) -> bool:
        lowered = text.lower()
        return any(needle in lowered for needle in needles)

    def drop(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {k: drop(v) for k, v in node.items()
                    if not (isinstance(k, str) and leaks(k)) and not (isinstance(v, str) and leaks(v))}
        if isinstance(node, list):
            return [drop(item) for item in node if not (isinstance(item, str) and leaks(item))]
        return node

    return drop(cleaned), found


def _variants(secret: str) -> set[str]:
    text = secret.strip()
    return {text, text[2:]} if _HEX.fullmatch(text) else {text}
