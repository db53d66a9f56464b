"""Errors of the channel services that are not protocol-core rejections. Each has a stable code;
the protocol API maps them (and hub.core's UpdateRejected) to 4xx responses."""

from __future__ import annotations


class ChannelError(Exception):
    status = 400

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status


class NotFound(ChannelError):
    status = 404


class Conflict(ChannelError):
    status = 409


# Codes used by the channel services, in one place.
CHANNEL_NOT_OPEN = "channel_not_open"
NO_OPEN_PROPOSAL = "no_open_proposal"
PROPOSAL_MISMATCH = "proposal_mismatch"
PROPOSAL_PENDING = "proposal_pending"
SIGNATURE_CONFLICT = "signature_conflict"
DEPOSIT_AUTHORIZATION_USED = "deposit_authorization_used"
HUB_RESERVE_LOW = "hub_reserve_low"
REASON_NOT_ACCEPTED = "reason_not_accepted"
TRANSACTION_IN_FLIGHT = "transaction_in_flight"
THREADS_DISABLED = "threads_disabled"
NOTHING_TO_EXCHANGE = "nothing_to_exchange"
INSUFFICIENT_COLLATERAL = "insufficient_collateral"
COLLATERAL_ON_ITS_WAY = "collateral_on_its_way"
UPDATE_NOT_FOUND = "update_not_found"
WITHDRAWALS_DISABLED = "withdrawals_disabled"
