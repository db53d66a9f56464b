"""Spoke's pure protocol core: Connext v1 channel states, hashes, signatures and transitions.

No Django, no I/O, no clock, no randomness: block time, exchange rates and keys are arguments.
"""

from __future__ import annotations

from hub.core.args import (
    ARGS_BY_REASON,
    INVALIDATION_REASONS,
    ConfirmPendingArgs,
    DepositArgs,
    EmptyChannelArgs,
    ExchangeArgs,
    InvalidationArgs,
    PaymentArgs,
    UpdateArgs,
    WithdrawalArgs,
    parse_args,
)
from hub.core.errors import ALL_REJECT_CODES, InvariantViolation, RejectCode, UpdateRejected
from hub.core.events import DidEmptyChannel, DidUpdateChannel
from hub.core.hashing import (
    channel_state_hash,
    deposit_request_hash,
    merkle_proof,
    merkle_root_of_hashes,
    thread_proof,
    thread_root,
    thread_state_hash,
    verify_merkle_proof,
)
from hub.core.invariants import channel_totals, check_invariants
from hub.core.rates import (
    RATE_BAND_PERCENT,
    RATE_MAX_AGE_SECONDS,
    HubRate,
    calculate_exchange,
    check_rate,
    token_to_wei,
    wei_to_token,
)
from hub.core.signing import (
    Signer,
    assert_channel_signer,
    assert_deposit_request_signer,
    assert_thread_signer,
    recover,
)
from hub.core.state import (
    UINT256_MAX,
    ZERO_ADDRESS,
    ZERO_ROOT,
    ChannelState,
    ThreadState,
    parse_address,
    zero_state,
)
from hub.core.threads import (
    THREAD_REASONS,
    ThreadArgs,
    thread_payment,
    thread_value,
    validate_thread_payment,
)
from hub.core.updates import SUPPORTED_REASONS, apply_update, coerce_args, validate_signed_update

__all__ = [
    "ALL_REJECT_CODES",
    "ARGS_BY_REASON",
    "INVALIDATION_REASONS",
    "RATE_BAND_PERCENT",
    "RATE_MAX_AGE_SECONDS",
    "SUPPORTED_REASONS",
    "THREAD_REASONS",
    "UINT256_MAX",
    "ZERO_ADDRESS",
    "ZERO_ROOT",
    "ChannelState",
    "ConfirmPendingArgs",
    "DepositArgs",
    "DidEmptyChannel",
    "DidUpdateChannel",
    "EmptyChannelArgs",
    "ExchangeArgs",
    "HubRate",
    "InvalidationArgs",
    "InvariantViolation",
    "PaymentArgs",
    "RejectCode",
    "Signer",
    "ThreadArgs",
    "ThreadState",
    "UpdateArgs",
    "UpdateRejected",
    "WithdrawalArgs",
    "apply_update",
    "assert_channel_signer",
    "assert_deposit_request_signer",
    "assert_thread_signer",
    "calculate_exchange",
    "channel_state_hash",
    "channel_totals",
    "check_invariants",
    "check_rate",
    "coerce_args",
    "deposit_request_hash",
    "merkle_proof",
    "merkle_root_of_hashes",
    "parse_address",
    "parse_args",
    "recover",
    "thread_payment",
    "thread_proof",
    "thread_root",
    "thread_state_hash",
    "thread_value",
    "token_to_wei",
    "validate_signed_update",
    "validate_thread_payment",
    "verify_merkle_proof",
    "wei_to_token",
    "zero_state",
]
