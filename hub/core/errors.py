"""Errors raised by the protocol core.

`UpdateRejected` is an expected outcome: the counterparty (or the caller) asked for a transition the
protocol forbids. Its `code` is stable and machine-readable; API layers put it in error bodies.
`InvariantViolation` is a bug in Spoke: a transition the core itself generated broke a money rule.
"""

from __future__ import annotations

from enum import StrEnum


class RejectCode(StrEnum):
    BAD_ARGS = "bad_args"
    BAD_SIGNATURE = "bad_signature"
    BAD_EVENT = "bad_event"
    UNKNOWN_REASON = "unknown_reason"
    TX_COUNT_GLOBAL = "tx_count_global"
    TX_COUNT_CHAIN = "tx_count_chain"
    NEGATIVE_BALANCE = "negative_balance"
    VALUE_NOT_CONSERVED = "value_not_conserved"
    PENDING_OPERATIONS = "pending_operations"
    PENDING_TIMEOUT = "pending_timeout"
    NO_PENDING_OPERATIONS = "no_pending_operations"
    TIMEOUT_NOT_EXPIRED = "timeout_not_expired"
    TIMEOUT_EXPIRED = "timeout_expired"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    PREVIOUS_UNSIGNED = "previous_unsigned"
    RATE_OUT_OF_RANGE = "rate_out_of_range"
    RATE_STALE = "rate_stale"
    RATE_UNAVAILABLE = "rate_unavailable"
    STATE_MISMATCH = "state_mismatch"
    WRONG_CHANNEL = "wrong_channel"
    WITHDRAWAL_NOT_REVERSIBLE = "withdrawal_not_reversible"
    THREAD_ROOT_MISMATCH = "thread_root_mismatch"
    THREAD_NOT_FOUND = "thread_not_found"
    THREAD_EXISTS = "thread_exists"


ALL_REJECT_CODES: tuple[str, ...] = tuple(code.value for code in RejectCode)


class UpdateRejected(Exception):
    """A requested transition is not allowed; `code` is one of `ALL_REJECT_CODES`."""

    def __init__(self, code: RejectCode | str, message: str) -> None:
        self.code: str = RejectCode(code).value
        self.message = message
        super().__init__(f"{self.code}: {message}")


class InvariantViolation(AssertionError):
    """A state the core produced breaks a money invariant. Always a bug; never catch and continue."""
