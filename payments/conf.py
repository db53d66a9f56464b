"""Merchant-platform settings: module constants with environment overrides.

Kept out of config/settings.py on purpose (the platform owns its numbers); every value can be
overridden with the environment variable named next to it. Code reads them as `conf.NAME` at call
time, so tests can monkeypatch them."""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


# Per-API-key rate limit: a token bucket refilled at RATE per second holding at most BURST.
API_RATE_PER_SECOND = _float("SPOKE_API_RATE_PER_SECOND", 100.0)
API_RATE_BURST = _int("SPOKE_API_RATE_BURST", 200)

# Idempotency records are replayed for this long (Stripe: at least 24 h).
IDEMPOTENCY_TTL_SECONDS = _int("SPOKE_IDEMPOTENCY_TTL_SECONDS", 24 * 3600)
# A concurrent duplicate waits this long for the first request to finish before getting a 409.
IDEMPOTENCY_WAIT_SECONDS = _float("SPOKE_IDEMPOTENCY_WAIT_SECONDS", 10.0)
# An "in progress" record older than this belongs to a crashed request and may be taken over
# (its work was rolled back: the effect and the record's completion commit together).
IDEMPOTENCY_STALE_SECONDS = _int("SPOKE_IDEMPOTENCY_STALE_SECONDS", 300)

# A rolled API key keeps working this long unless it is revoked at once.
API_KEY_ROLL_OVERLAP_SECONDS = _int("SPOKE_API_KEY_ROLL_OVERLAP_SECONDS", 24 * 3600)
# last_used_at is written at most this often per key (keeps the hot path read-only).
API_KEY_LAST_USED_RESOLUTION_SECONDS = _int("SPOKE_API_KEY_LAST_USED_RESOLUTION_SECONDS", 60)

# Invoices
INVOICE_EXPIRY_SECONDS = _int("SPOKE_INVOICE_EXPIRY_SECONDS", 15 * 60)
INVOICE_LATE_WINDOW_SECONDS = _int("SPOKE_INVOICE_LATE_WINDOW_SECONDS", 24 * 3600)

# Fiat: operator-set rates of other currencies per US dollar (the hub's rate is dollars per ETH);
# a currency with no rate set cannot price invoices (rate_unavailable).
FIAT_PER_USD = {"EUR": os.environ.get("SPOKE_FIAT_EUR_PER_USD", "").strip()}
# The currency payments, refunds and settlements record their value in when no invoice names one.
FIAT_BOOKS_CURRENCY = os.environ.get("SPOKE_FIAT_BOOKS_CURRENCY", "USD").strip().upper() or "USD"

# Webhooks
WEBHOOK_TIMEOUT_SECONDS = _float("SPOKE_WEBHOOK_TIMEOUT_SECONDS", 10.0)
WEBHOOK_RETRY_FOR_SECONDS = _int("SPOKE_WEBHOOK_RETRY_FOR_SECONDS", 3 * 24 * 3600)
WEBHOOK_FIRST_RETRY_SECONDS = _int("SPOKE_WEBHOOK_FIRST_RETRY_SECONDS", 30)
WEBHOOK_MAX_RETRY_DELAY_SECONDS = _int("SPOKE_WEBHOOK_MAX_RETRY_DELAY_SECONDS", 6 * 3600)
# While a worker holds an attempt, the sweep leaves the delivery alone for this long.
WEBHOOK_ATTEMPT_LEASE_SECONDS = _int("SPOKE_WEBHOOK_ATTEMPT_LEASE_SECONDS", 60)
WEBHOOK_SECRET_ROTATION_OVERLAP_SECONDS = _int("SPOKE_WEBHOOK_SECRET_OVERLAP_SECONDS", 24 * 3600)

# Events are listed through the API for this long.
EVENTS_LISTED_FOR_SECONDS = _int("SPOKE_EVENTS_LISTED_FOR_SECONDS", 30 * 24 * 3600)

# Automatic settlements are evaluated this often (the periodic actor's interval).
AUTO_SETTLEMENT_INTERVAL_SECONDS = _int("SPOKE_AUTO_SETTLEMENT_INTERVAL_SECONDS", 60)

# The public origin of this platform (https://pay.example.com), for the absolute URLs the API and
# events carry (an invoice's checkout_url). Unset: the origin of the request being served, and
# outside a request (a worker) http://localhost; set it in production.
PUBLIC_BASE_URL = os.environ.get("SPOKE_PUBLIC_BASE_URL", "").rstrip("/")


def absolute_url(path: str) -> str:
    from ops.middleware import current_base_url

    return (PUBLIC_BASE_URL or current_base_url() or "http://localhost") + path


# The block explorer page of a transaction, per deployment: `{tx}` is replaced by the 0x hash
# (e.g. https://etherscan.io/tx/{tx}). Empty: the dashboard shows the hash without a link.
EXPLORER_TX_URL = os.environ.get("EXPLORER_TX_URL", "")
