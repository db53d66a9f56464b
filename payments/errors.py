"""Every error code of the merchant platform, in one place, with its HTTP status and type.

Services raise `PaymentsError(code, message, param=...)`; the API's exception handler turns it
(and every DRF/Django error) into `{"error": {"type", "code", "message", "param", "request_id"}}`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    status: int
    type: str


INVALID = "invalid_request_error"
AUTH = "authentication_error"
PERMISSION = "permission_error"
IDEMPOTENCY = "idempotency_error"
RATE_LIMIT = "rate_limit_error"
API = "api_error"

CODES: dict[str, ErrorCode] = {
    # request shape
    "parameter_invalid": ErrorCode(400, INVALID),
    "parameter_missing": ErrorCode(400, INVALID),
    "permission_unknown": ErrorCode(400, INVALID),  # a restricted key names no such resource
    "parse_error": ErrorCode(400, INVALID),
    "metadata_invalid": ErrorCode(400, INVALID),
    "amount_invalid": ErrorCode(400, INVALID),
    "address_invalid": ErrorCode(400, INVALID),
    "url_not_public": ErrorCode(400, INVALID),  # a webhook URL on loopback or a private network
    "url_unresolvable": ErrorCode(400, INVALID),  # a webhook URL whose host cannot resolve (in time)
    "cursor_invalid": ErrorCode(404, INVALID),  # no such object in the list
    "idempotency_key_invalid": ErrorCode(400, INVALID),
    "body_too_large": ErrorCode(413, INVALID),
    # authentication and permission
    "authentication_required": ErrorCode(401, AUTH),
    "api_key_invalid": ErrorCode(401, AUTH),
    "permission_denied": ErrorCode(403, PERMISSION),
    # resources
    "resource_missing": ErrorCode(404, INVALID),
    "method_not_allowed": ErrorCode(405, INVALID),
    # money and state: the request is valid but conflicts with the current state
    "balance_insufficient": ErrorCode(409, INVALID),
    "payout_address_missing": ErrorCode(409, INVALID),
    "asset_not_configured": ErrorCode(409, INVALID),  # the platform has no token configured
    "receiving_address_missing": ErrorCode(409, INVALID),
    "invoice_not_payable": ErrorCode(409, INVALID),
    "invoice_asset_mismatch": ErrorCode(409, INVALID),
    "invoice_not_voidable": ErrorCode(409, INVALID),
    "invoice_no_excess": ErrorCode(409, INVALID),  # refund_excess on an invoice with nothing to refund
    "rate_unavailable": ErrorCode(409, INVALID),  # no current rate for the invoice's fiat currency
    "refund_exceeds_payment": ErrorCode(409, INVALID),
    "refund_not_pending": ErrorCode(409, INVALID),
    "delivery_not_redeliverable": ErrorCode(409, INVALID),
    "api_key_not_rollable": ErrorCode(409, INVALID),
    # idempotency and limits
    "idempotency_conflict": ErrorCode(409, IDEMPOTENCY),
    "idempotency_in_progress": ErrorCode(409, IDEMPOTENCY),
    "rate_limited": ErrorCode(429, RATE_LIMIT),
    # temporarily unavailable
    "payments_disabled": ErrorCode(503, API),  # the operator switched payments off
    "checkout_unavailable": ErrorCode(503, API),  # no Checkout contract configured
    # ours
    "api_error": ErrorCode(500, API),
}


class PaymentsError(Exception):
    """A refusal with a stable code (see CODES). Raised by services; rendered by the API."""

    def __init__(self, code: str, message: str, *, param: str | None = None,
                 amount: tuple[int, str] | None = None) -> None:
        """`amount` = (base units, asset) fills an `{amount}` in `message`: the API says base
        units ("600 wei", what it takes), `human_message` the asset's units ("0.0000000000000006
        ETH", what the dashboard's forms take)."""
        if code not in CODES:
            raise ValueError(f"unknown error code {code!r}")
        self.template = message
        self.amount = amount
        if amount is not None:
            message = message.format(amount=f"{amount[0]} {amount[1]}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param

    @property
    def human_message(self) -> str:
        if self.amount is None:
            return self.message
        from ops.amounts import exact_amount

        return self.template.format(amount=exact_amount(*self.amount))

    @property
    def status(self) -> int:
        return CODES[self.code].status

    @property
    def type(self) -> str:
        return CODES[self.code].type
