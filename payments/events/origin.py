"""Which merchant request caused an event (recorded with it, by payments/events/services.py and
the webhooks' test event)."""

from __future__ import annotations

from ops.middleware import current_path, current_request

# The merchant's own surfaces: an event caused by one of their requests names it. A customer's
# request (a hub purchase paying an invoice) is not the merchant's to see: such events say null.
MERCHANT_PATHS = ("/api/v1/", "/dashboard/")


def merchant_request() -> tuple[str | None, str | None]:
    """(request id, Idempotency-Key) of the merchant API or dashboard request being served."""
    if not current_path().startswith(MERCHANT_PATHS):
        return None, None
    return current_request()
