"""A payment's public id: `pay_` and 24 random hex characters (the shape of the merchant
platform's other public ids; the integer key stays internal)."""

from __future__ import annotations

import secrets


def new_payment_id() -> str:
    return f"pay_{secrets.token_hex(12)}"
