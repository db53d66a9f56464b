"""Link-payment settings: module constants with environment overrides (the payments/conf.py
pattern). Code reads them as `conf.NAME` at call time, so tests can monkeypatch them."""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# A link without an explicit expiry returns to its sender after this long (operator setting).
LINK_DEFAULT_TTL_SECONDS = _int("SPOKE_LINK_DEFAULT_TTL_SECONDS", 30 * 24 * 3600)
# Bounds of an explicit expiry.
LINK_MIN_TTL_SECONDS = _int("SPOKE_LINK_MIN_TTL_SECONDS", 60)
LINK_MAX_TTL_SECONDS = _int("SPOKE_LINK_MAX_TTL_SECONDS", 365 * 24 * 3600)
# Failed redemption attempts (unknown secrets) allowed per client address and per IP in any
# sliding window of LINK_GUESS_WINDOW_SECONDS; the next ones get 429 without being evaluated.
LINK_GUESS_LIMIT = _int("SPOKE_LINK_GUESS_LIMIT", 10)
LINK_GUESS_WINDOW_SECONDS = _int("SPOKE_LINK_GUESS_WINDOW_SECONDS", 60)
# Absolute base of link URLs in API responses (e.g. https://pay.example.com); empty: the
# request's own scheme and host.
LINK_PUBLIC_BASE_URL = os.environ.get("SPOKE_LINK_PUBLIC_BASE_URL", "").rstrip("/")
# Optional wallet hand-off on the public page: a URL template with {secret} and {url}
# (e.g. https://wallet.example/redeem#{secret}); empty hides the button.
LINK_WALLET_URL_TEMPLATE = os.environ.get("SPOKE_LINK_WALLET_URL_TEMPLATE", "")
