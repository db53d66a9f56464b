"""Public object ids: a type prefix and 24 random hex characters (`inv_3f9a...`)."""

from __future__ import annotations

import secrets

PREFIXES = {
    "invoice": "inv",
    "refund": "re",
    "settlement": "st",
    "event": "evt",
    "webhook_endpoint": "we",
    "webhook_delivery": "whd",
    "api_key": "key",
    "payment": "pay",
}


def new_id(kind: str) -> str:
    return f"{PREFIXES[kind]}_{secrets.token_hex(12)}"


def new_invoice_id() -> str:
    return new_id("invoice")


def new_refund_id() -> str:
    return new_id("refund")


def new_settlement_id() -> str:
    return new_id("settlement")


def new_event_id() -> str:
    return new_id("event")


def new_webhook_endpoint_id() -> str:
    return new_id("webhook_endpoint")


def new_webhook_delivery_id() -> str:
    return new_id("webhook_delivery")


def new_api_key_id() -> str:
    return new_id("api_key")


