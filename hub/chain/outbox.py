"""The transaction outbox: record, sign, broadcast, resubmit and confirm the hub's transactions.

Guarantees (threats K2, L1, L2):
- A logical transaction is recorded once per idempotency key, in the caller's DB transaction.
- Its nonce comes from the database (a row lock on the sender's `NonceCursor`); the chain's
  transaction count only ever raises the cursor, so nonces are contiguous and never reused.
- Every signed attempt is persisted before it is broadcast, and every later attempt reuses the
  same nonce, so however often a worker crashes or a step is retried, at most one transaction
  per logical transaction can be mined.
- A transaction is FAILED only when it reverted, when its cancellation was mined, or when its
  nonce was used by another mined transaction; never because a mempool timed out.
- `on_complete` runs exactly once: inside the DB transaction that records the outcome.
- A CONFIRMED transaction whose block a reorg removed (within REORG_WINDOW_BLOCKS of the head) is
  found again by `transactions_recheck_confirmed`: its signed bytes are re-broadcast (same nonce,
  so it can execute at most once) and an alarm is raised; once it is mined again its new block is
  recorded. It stays CONFIRMED (its callback ran); if it cannot be mined again the alarm is
  critical, for an operator.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from eth_typing import ChecksumAddress, HexStr
from eth_utils.address import is_address
from web3 import Web3
from web3.exceptions import (
    BlockNotFound,
    ContractCustomError,
    ContractLogicError,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import Wei

from hub.chain.client import get_web3
from hub.chain.crash import TX_AFTER_BROADCAST, TX_AFTER_SIGN, TX_BEFORE_RECEIPT, crashpoint
from hub.chain.models import ChainTransaction, ChainTransactionAttempt, NonceCursor
from hub.chain.signer import SignerError, hub_address, hub_signer
from ops import jobs
from ops.services import alarm_raise

logger = logging.getLogger(__name__)

State = ChainTransaction.State
Kind = ChainTransactionAttempt.Kind

# Seconds a broadcast attempt may wait unmined before it is replaced by a fee-bumped one.
RESUBMIT_AFTER_SECONDS = 90.0
# A replacement must raise both fee caps by at least this fraction (geth needs 10 %, we use 12.5 %).
FEE_BUMP_NUMERATOR, FEE_BUMP_DENOMINATOR = 9, 8
# Tip floor: an empty fee history (dev chains, quiet L2s) must not produce a zero tip.
MIN_PRIORITY_FEE_WEI = 1_000_000_000
FEE_HISTORY_BLOCKS = 10
# Above this max fee per gas we stop bumping and raise an alarm instead of burning money.
MAX_FEE_PER_GAS_CAP_WEI = 1_000 * 10**9
# Gas limit = estimate + 20 %: estimates are taken against a state the tx may not see.
GAS_LIMIT_MARGIN_NUMERATOR, GAS_LIMIT_MARGIN_DENOMINATOR = 6, 5
CANCEL_GAS_LIMIT = 21_000
# The sweep leaves freshly written rows to the message sent on commit for this long.
SWEEP_GRACE_SECONDS = float(os.environ.get("SPOKE_TX_SWEEP_GRACE_SECONDS", "5"))
# Confirmed transactions are re-checked while their block is this close to the head: a reorg
# deeper than CONFIRMATIONS can still remove it (the ingester rewinds as far for events).
REORG_WINDOW_BLOCKS = 64
# `on_complete` is stored with each row as a dotted path: a callback whose module moved keeps
# answering to the path that rows written before the move carry (old path -> current path).
MOVED_CALLBACKS = {
    "payments.custodial.services.custodial_withdrawal_completed":
        "hub.custodial.services.custodial_withdrawal_completed",
    "hub.channels.onchain.hub_update_completed": "hub.channels.updates.hub_update_completed",
}


class TransactionSendError(RuntimeError):
    """The node refused a broadcast for a reason that may go away (funds, node trouble)."""


class TransactionDeferred(RuntimeError):
    """Not sendable yet (it reverts in simulation while earlier hub transactions are open); the
    row stays NEW and is tried again by a retry or the sweep."""


# --- enqueue ----------------------------------------------------------------------------------


def _address(value: str, what: str) -> str:
    if not isinstance(value, str) or not is_address(value) or not value.startswith("0x"):
        raise ValueError(f"{what} is not a 0x address")
    return value.lower()


def _hex_data(data: str | bytes) -> str:
    if isinstance(data, bytes | bytearray):
        return "0x" + bytes(data).hex()
    if not isinstance(data, str) or not data.startswith("0x"):
        raise ValueError("data is 0x-hex or bytes")
    try:
        bytes.fromhex(data[2:])
    except ValueError:
        raise ValueError("data is not valid hex") from None
    return data.lower()


def transaction_enqueue(
    *, purpose: str, to: str, data: str | bytes, value: int = 0, idempotency_key: str,
    on_complete: str | None = None, gas_limit: int | None = None,
) -> ChainTransaction:
    """Record a hub transaction to be sent, and schedule the send after the caller commits.

    Call it inside the DB transaction that made the decision. Idempotent on `idempotency_key`:
    a second call returns the existing row (ValueError if its payload differs). `on_complete`
    is the dotted path of `func(tx: ChainTransaction) -> None`, run once when the transaction
    becomes CONFIRMED or FAILED, inside the DB transaction recording that outcome. With
    `gas_limit` the gas is not estimated (a reverting call is then mined and fails on chain)."""
    if not purpose or len(purpose) > 64:
        raise ValueError("purpose is 1..64 characters")
    if not idempotency_key or len(idempotency_key) > 200:
        raise ValueError("idempotency_key is 1..200 characters")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("value is a non-negative int (wei)")
    if gas_limit is not None and (isinstance(gas_limit, bool) or not isinstance(gas_limit, int)
                                  or gas_limit < 21_000):
        raise ValueError("gas_limit is an int >= 21000")
    if on_complete:
        import_string(on_complete)  # fail now, not when the transaction is mined
    fields: dict[str, Any] = {
        "purpose": purpose, "to": _address(to, "to"), "data": _hex_data(data), "value": value,
        "on_complete": on_complete or "", "gas_limit": gas_limit,
    }
    with transaction.atomic():
        existing = ChainTransaction.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    tx = ChainTransaction.objects.create(
                        idempotency_key=idempotency_key, sender=hub_address().lower(), **fields
                    )
            except IntegrityError:
                existing = ChainTransaction.objects.get(idempotency_key=idempotency_key)
            else:
                tx_id = tx.pk
                transaction.on_commit(lambda: _send_submit(tx_id), robust=True)
                return tx
    for name, wanted in fields.items():
        if name != "gas_limit" and getattr(existing, name) != wanted:
            raise ValueError(f"idempotency key {idempotency_key!r} was used for another {name}")
    return existing


def _send_submit(tx_id: int) -> None:
    jobs.send("submit_transaction", tx_id)


def _send_check(tx_id: int, delay_ms: int = 0) -> None:
    jobs.send("check_transaction", tx_id, delay_ms=delay_ms)


# --- submit -----------------------------------------------------------------------------------


def transaction_submit(*, tx_id: int) -> ChainTransaction:
    """Give the transaction a nonce, sign it, persist the attempt, broadcast, mark it submitted.

    Safe to run twice and to crash at any point: each step re-reads the row and skips what is
    done; a persisted attempt is re-broadcast as is (the node answers "already known" or
    "nonce too low", both success here). A SUBMITTED row is handed to `transaction_check`."""
    tx = ChainTransaction.objects.get(pk=tx_id)
    if tx.is_terminal:
        return tx
    if tx.state == State.SUBMITTED:
        return transaction_check(tx_id=tx_id)
    w3 = get_web3()
    if tx.nonce is None:
        tx = _prepare(w3, tx)
        if tx.is_terminal:
            return tx
    attempt = tx.attempts.order_by("-id").first() or _sign_attempt(w3, tx_id)
    if attempt is None:  # became terminal meanwhile
        return ChainTransaction.objects.get(pk=tx_id)
    crashpoint(TX_AFTER_SIGN)
    _broadcast(w3, tx_id, attempt)
    crashpoint(TX_AFTER_BROADCAST)
    return _mark_submitted(tx_id, attempt)


def _checksum(address: str) -> ChecksumAddress:
    return Web3.to_checksum_address(address)


def _prepare(w3: Web3, tx: ChainTransaction) -> ChainTransaction:
    """Estimate gas (unless fixed), then allocate the nonce. A call that reverts in simulation
    fails here, before it holds a nonce, so it never leaves a gap."""
    estimate = None
    if tx.gas_limit is None:
        try:
            estimate = w3.eth.estimate_gas({
                "from": _checksum(tx.sender), "to": _checksum(tx.to), "value": Wei(tx.value),
                "data": tx.data,  # type: ignore[typeddict-item]
            })
        except ContractLogicError as exc:
            reason = _revert_text(exc)
            if ChainTransaction.objects.filter(
                sender=tx.sender, state__in=[State.NEW, State.SUBMITTED], pk__lt=tx.pk
            ).exists():
                # It may depend on an earlier hub transaction that is not mined yet (a reserve
                # top-up before a deposit): decide once nothing before it is open.
                ChainTransaction.objects.filter(pk=tx.pk).update(
                    last_error=f"reverts in simulation while earlier transactions are open: {reason}"[:2000],
                    updated_at=timezone.now(),
                )
                raise TransactionDeferred(f"transaction {tx.pk} waits for earlier ones") from None
            return _finish(
                tx.pk, state=State.FAILED, failure_reason="reverted in simulation; never sent",
                revert_reason=reason,
            )
    # Read before taking the lock: the chain's count only grows, so it stays a valid lower bound.
    chain_count = w3.eth.get_transaction_count(_checksum(tx.sender), "pending")
    with transaction.atomic():
        tx = ChainTransaction.objects.select_for_update().get(pk=tx.pk)
        if tx.nonce is not None or tx.is_terminal:
            return tx
        if estimate is not None:
            tx.gas_estimate = estimate
            tx.gas_limit = estimate * GAS_LIMIT_MARGIN_NUMERATOR // GAS_LIMIT_MARGIN_DENOMINATOR
        tx.nonce = _allocate_nonce(tx.sender, chain_count)
        tx.save(update_fields=["gas_estimate", "gas_limit", "nonce", "updated_at"])
        return tx


def _allocate_nonce(sender: str, chain_count: int) -> int:
    """Next nonce for `sender` under a row lock on its cursor (lock order: tx row, then cursor).

    The cursor is created from the chain on first use; afterwards the chain count only raises it
    (another tool used the key), so a transaction is never handed a nonce the chain already used."""
    cursor = NonceCursor.objects.select_for_update().filter(sender=sender).first()
    if cursor is None:
        try:
            with transaction.atomic():
                NonceCursor.objects.create(sender=sender, next_nonce=chain_count)
        except IntegrityError:
            pass  # created concurrently; lock theirs
        cursor = NonceCursor.objects.select_for_update().get(sender=sender)
    nonce = max(cursor.next_nonce, chain_count)
    cursor.next_nonce = nonce + 1
    cursor.save(update_fields=["next_nonce", "updated_at"])
    return nonce


def _current_fees(w3: Web3) -> tuple[int, int]:
    """(maxFeePerGas, maxPriorityFeePerGas) from the node's fee history: median tip of recent
    blocks (floored), and twice the next base fee plus the tip, which survives several full blocks."""
    history = w3.eth.fee_history(FEE_HISTORY_BLOCKS, "latest", [50])
    next_base_fee = int(history["baseFeePerGas"][-1])
    tips = sorted(int(r[0]) for r in history.get("reward", []) if r)
    tip = max(tips[len(tips) // 2] if tips else 0, MIN_PRIORITY_FEE_WEI)
    return 2 * next_base_fee + tip, tip


def _bumped(old: int) -> int:
    return -(-old * FEE_BUMP_NUMERATOR // FEE_BUMP_DENOMINATOR)  # ceil: at least +12.5 %


def _sign_attempt(
    w3: Web3, tx_id: int, *, replacing: int | None = None, force_cancel: bool = False,
) -> ChainTransactionAttempt | None:
    """Sign and persist the next attempt. The first attempt is created once (a concurrent call
    gets the existing one); a replacement is created only if attempt `replacing` is still the
    latest, so two racing bumps make one."""
    max_fee, tip = _current_fees(w3)
    signer = hub_signer()
    with transaction.atomic():
        tx = ChainTransaction.objects.select_for_update().get(pk=tx_id)
        if tx.is_terminal or tx.nonce is None:
            return None
        latest = tx.attempts.order_by("-id").first()
        if latest is not None and latest.pk != replacing:
            return latest
        if signer.address.lower() != tx.sender:
            raise SignerError("the hub key changed while this transaction was open")
        if latest is not None:
            max_fee = max(max_fee, _bumped(latest.max_fee_per_gas))
            tip = max(tip, _bumped(latest.max_priority_fee_per_gas))
            if max_fee > MAX_FEE_PER_GAS_CAP_WEI:
                _alarm_fee_cap(tx, max_fee)
                return latest
        tip = min(tip, max_fee)
        cancel = force_cancel or tx.cancel_requested_at is not None
        if cancel:
            kind, to, value, data, gas = Kind.CANCEL, tx.sender, 0, "0x", CANCEL_GAS_LIMIT
        else:
            kind = Kind.ORIGINAL if latest is None else Kind.BUMP
            to, value, data, gas = tx.to, tx.value, tx.data, tx.gas_limit or 0
        signed = signer.sign_transaction({
            "type": 2, "chainId": settings.CHAIN_ID, "nonce": tx.nonce, "to": _checksum(to),
            "value": value, "data": data, "gas": gas,
            "maxFeePerGas": max_fee, "maxPriorityFeePerGas": tip,
        })
        attempt = ChainTransactionAttempt.objects.create(
            transaction=tx, kind=kind, nonce=tx.nonce, tx_hash="0x" + signed.hash.hex(),
            raw_tx="0x" + signed.raw_transaction.hex(), gas_limit=gas,
            max_fee_per_gas=max_fee, max_priority_fee_per_gas=tip,
        )
        tx.max_fee_per_gas, tx.max_priority_fee_per_gas = max_fee, tip
        tx.save(update_fields=["max_fee_per_gas", "max_priority_fee_per_gas", "updated_at"])
        return attempt


def _alarm_fee_cap(tx: ChainTransaction, max_fee: int) -> None:
    alarm_raise(
        kind="tx_fee_cap", key=f"tx:{tx.pk}",
        message=f"transaction {tx.pk} ({tx.purpose}) needs max fee {max_fee} wei/gas to be "
                f"replaced, above the cap {MAX_FEE_PER_GAS_CAP_WEI}; not bumped",
        detail={"tx_id": tx.pk, "nonce": tx.nonce, "max_fee_per_gas": str(max_fee)},
    )


# Node error messages (geth, anvil, erigon, nethermind spellings) that mean "fine, carry on".
_KNOWN = ("already known", "already imported", "known transaction", "alreadyknown")
_NONCE_USED = ("nonce too low", "nonce is too low", "oldnonce", "invalid nonce")
_REPLACEMENT = ("underpriced", "replacement transaction")


def _broadcast(w3: Web3, tx_id: int, attempt: ChainTransactionAttempt) -> str:
    """Send the attempt's raw bytes. Returns "sent", "known", "nonce_used" or "underpriced"
    (another tx with this nonce is pending: ours, which `transaction_check` resolves); raises
    TransactionSendError for anything a retry might fix."""
    try:
        w3.eth.send_raw_transaction(HexStr(attempt.raw_tx))
        return "sent"
    except Web3RPCError as exc:
        message = str(exc.message).lower()
        for outcome, needles in (("known", _KNOWN), ("nonce_used", _NONCE_USED),
                                 ("underpriced", _REPLACEMENT)):
            if any(n in message for n in needles):
                return outcome
        ChainTransactionAttempt.objects.filter(pk=attempt.pk).update(broadcast_error=message[:2000])
        ChainTransaction.objects.filter(pk=tx_id).update(
            last_error=f"broadcast refused: {message[:500]}", updated_at=timezone.now()
        )
        if "insufficient funds" in message:
            alarm_raise(
                kind="hub_funds", key="hub",
                message=f"the hub cannot pay for transaction {tx_id}: {message[:200]}",
                severity="critical", detail={"tx_id": tx_id},
            )
        raise TransactionSendError(f"broadcast of transaction {tx_id} refused: {message}") from None


def _mark_submitted(tx_id: int, attempt: ChainTransactionAttempt) -> ChainTransaction:
    now = timezone.now()
    with transaction.atomic():
        tx = ChainTransaction.objects.select_for_update().get(pk=tx_id)
        ChainTransactionAttempt.objects.filter(pk=attempt.pk, broadcast_at__isnull=True).update(
            broadcast_at=now
        )
        if tx.state == State.NEW:
            tx.state = State.SUBMITTED
            tx.submitted_at = now
            tx.last_error = ""
            tx.save(update_fields=["state", "submitted_at", "last_error", "updated_at"])
            transaction.on_commit(lambda: _send_check(tx_id, delay_ms=1000), robust=True)
        return tx


# --- check, resubmit, cancel ------------------------------------------------------------------


def transaction_check(
    *, tx_id: int, resubmit_after: float = RESUBMIT_AFTER_SECONDS, confirmations: int | None = None,
) -> ChainTransaction:
    """Move a submitted transaction on: record a receipt that has `confirmations` blocks on top
    (CONFIRMED, or FAILED with the revert reason replayed by eth_call); FAILED if its nonce was
    used by another confirmed transaction; otherwise re-broadcast the latest attempt, or after
    `resubmit_after` seconds replace it with a fee-bumped one at the same nonce. Idempotent."""
    tx = ChainTransaction.objects.get(pk=tx_id)
    if tx.is_terminal:
        return tx
    if tx.state == State.NEW:
        return transaction_submit(tx_id=tx_id)
    assert tx.nonce is not None
    depth = settings.CONFIRMATIONS if confirmations is None else confirmations
    w3 = get_web3()
    safe_block = w3.eth.block_number - depth
    # Read the confirmed nonce count BEFORE looking for receipts: if the count is past our nonce
    # and none of our hashes has a receipt afterwards, someone else's transaction took the nonce.
    confirmed_count = (
        w3.eth.get_transaction_count(_checksum(tx.sender), safe_block) if safe_block >= 0 else 0
    )
    attempts = list(tx.attempts.order_by("-id"))
    for attempt in attempts:
        try:
            receipt = w3.eth.get_transaction_receipt(attempt.tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            continue
        if receipt["blockNumber"] > safe_block:
            return tx  # mined; waiting for confirmations
        reason = ""
        if receipt["status"] != 1 and attempt.kind != Kind.CANCEL:
            reason = _replay_revert_reason(w3, tx, attempt, receipt)
        crashpoint(TX_BEFORE_RECEIPT)
        return _record_receipt(tx_id, attempt, receipt, reason)
    if confirmed_count > tx.nonce:
        return _finish(
            tx_id, state=State.FAILED,
            failure_reason=f"nonce {tx.nonce} was used by another mined transaction",
        )
    if not attempts:  # a NEW row is never SUBMITTED without an attempt; be defensive anyway
        return transaction_submit(tx_id=tx_id)
    latest = attempts[0]
    age = (timezone.now() - latest.created_at).total_seconds()
    if age >= resubmit_after:
        replacement = _sign_attempt(w3, tx_id, replacing=latest.pk)
        if replacement is not None and replacement.pk != latest.pk:
            logger.info("tx %s: replacing %s with %s (fee bump)", tx_id, latest.tx_hash,
                        replacement.tx_hash)
            latest = replacement
    _broadcast(w3, tx_id, latest)
    ChainTransactionAttempt.objects.filter(pk=latest.pk, broadcast_at__isnull=True).update(
        broadcast_at=timezone.now()
    )
    return ChainTransaction.objects.get(pk=tx_id)


def transaction_bump(*, tx_id: int) -> ChainTransaction:
    """Resubmit now with a fee bump (same nonce). For an operator who will not wait."""
    return transaction_check(tx_id=tx_id, resubmit_after=0)


def transaction_cancel(*, tx_id: int) -> ChainTransaction:
    """Cancel: replace with a 0-value self-transfer at the same nonce and a bumped fee. The row
    becomes FAILED ("cancelled") only if the cancellation is what gets mined; if the original
    wins the race it is CONFIRMED as usual. A row without a nonce fails at once."""
    with transaction.atomic():
        tx = ChainTransaction.objects.select_for_update().get(pk=tx_id)
        if tx.is_terminal:
            return tx
        if tx.nonce is None:
            return _finish(tx_id, state=State.FAILED, failure_reason="cancelled before sending")
        if tx.cancel_requested_at is None:
            tx.cancel_requested_at = timezone.now()
            tx.save(update_fields=["cancel_requested_at", "updated_at"])
    w3 = get_web3()
    latest = tx.attempts.order_by("-id").first()
    attempt = latest
    if latest is None or latest.kind != Kind.CANCEL:
        attempt = _sign_attempt(w3, tx_id, replacing=latest.pk if latest else None)
    if attempt is None:
        return ChainTransaction.objects.get(pk=tx_id)
    _broadcast(w3, tx_id, attempt)
    return _mark_submitted(tx_id, attempt)


def transaction_cancel_unsent(tx_id: int) -> bool:
    """Make sure a transaction whose payload was never signed is never executed. True when
    that holds: with no nonce it is FAILED at once; with a nonce, the only attempt it will ever
    get is a 0-value self-transfer (so the nonce is still used and no gap is left) and it becomes
    FAILED when that is mined. False when an attempt was already signed (it may be on-chain).
    `on_complete` runs as usual when the row becomes FAILED."""
    with transaction.atomic():
        tx = ChainTransaction.objects.select_for_update().get(pk=tx_id)
        if tx.state == State.FAILED and tx.attempts.filter(kind=Kind.CANCEL).exists():
            return True
        if tx.is_terminal or tx.attempts.filter(kind__in=[Kind.ORIGINAL, Kind.BUMP]).exists():
            return False
        if tx.nonce is None:
            _finish(tx_id, state=State.FAILED, failure_reason="cancelled before sending")
            return True
        if tx.cancel_requested_at is None:
            tx.cancel_requested_at = timezone.now()
            tx.save(update_fields=["cancel_requested_at", "updated_at"])
        return True


def _revert_text(exc: ContractLogicError) -> str:
    if isinstance(exc, ContractCustomError):
        return f"custom error {exc.data}"
    return str(exc.message or exc.data or "execution reverted")


def _replay_revert_reason(
    w3: Web3, tx: ChainTransaction, attempt: ChainTransactionAttempt, receipt: Any,
) -> str:
    """Why a mined transaction reverted: replay it with eth_call on its parent block's state."""
    if receipt["gasUsed"] >= attempt.gas_limit:
        return "out of gas"
    try:
        w3.eth.call(
            {"from": _checksum(tx.sender), "to": _checksum(tx.to), "value": Wei(tx.value),
             "data": tx.data, "gas": attempt.gas_limit},  # type: ignore[typeddict-item]
            max(receipt["blockNumber"] - 1, 0),
        )
    except ContractLogicError as exc:
        return _revert_text(exc)
    except Web3RPCError as exc:
        return f"reverted; replay failed: {exc.message}"[:2000]
    return "reverted; the replay on the parent block did not revert (state-dependent)"


def _record_receipt(
    tx_id: int, attempt: ChainTransactionAttempt, receipt: Any, revert_reason: str,
) -> ChainTransaction:
    with transaction.atomic():
        tx = ChainTransaction.objects.select_for_update().get(pk=tx_id)
        if tx.is_terminal:
            return tx
        tx.tx_hash = attempt.tx_hash
        tx.block_number = receipt["blockNumber"]
        tx.block_hash = "0x" + bytes(receipt["blockHash"]).hex()
        tx.gas_used = receipt["gasUsed"]
        tx.effective_gas_price = int(receipt.get("effectiveGasPrice") or 0)
        tx.receipt_status = receipt["status"]
        if attempt.kind == Kind.CANCEL:
            tx.state = State.FAILED
            tx.failure_reason = "cancelled: a 0-value self-transfer took the nonce"
        elif receipt["status"] == 1:
            tx.state = State.CONFIRMED
        else:
            tx.state = State.FAILED
            tx.failure_reason = "reverted on chain"
            tx.revert_reason = revert_reason
        tx.completed_at = timezone.now()
        tx.last_error = ""
        tx.save()
        _run_on_complete(tx)
        return tx


def _finish(
    tx_id: int, *, state: str, failure_reason: str = "", revert_reason: str = "",
) -> ChainTransaction:
    with transaction.atomic():
        tx = ChainTransaction.objects.select_for_update().get(pk=tx_id)
        if tx.is_terminal:
            return tx
        tx.state = state
        tx.failure_reason = failure_reason
        tx.revert_reason = revert_reason
        tx.completed_at = timezone.now()
        tx.save()
        _run_on_complete(tx)
        return tx


def _run_on_complete(tx: ChainTransaction) -> None:
    """Inside the outcome's DB transaction: if the callback raises, the outcome is not recorded
    either, and both are retried together, so the callback's writes commit exactly once."""
    if tx.on_complete:
        path = MOVED_CALLBACKS.get(tx.on_complete, tx.on_complete)
        callback: Callable[[ChainTransaction], object] = import_string(path)
        callback(tx)


# --- sweep ------------------------------------------------------------------------------------


def transactions_sweep(*, limit: int = 500, grace_seconds: float | None = None) -> int:
    """Re-enqueue every open transaction (NEW: submit; SUBMITTED: check), so that no progress
    depends on a message surviving in Redis. Rows touched in the last `grace_seconds` are left
    to the message their writer sent. Returns the number of messages sent."""
    grace = SWEEP_GRACE_SECONDS if grace_seconds is None else grace_seconds
    cutoff = timezone.now() - timedelta(seconds=grace)
    rows = list(
        ChainTransaction.objects.filter(state__in=[State.NEW, State.SUBMITTED], updated_at__lte=cutoff)
        .order_by("id").values_list("id", "state")[:limit]
    )
    for tx_id, state in rows:
        if state == State.NEW:
            _send_submit(tx_id)
        else:
            _send_check(tx_id)
    return len(rows)


# --- reorg re-check ---------------------------------------------------------------------------


def _canonical_hash(w3: Web3, number: int) -> str | None:
    try:
        block = w3.eth.get_block(number)
    except BlockNotFound:
        return None
    return "0x" + bytes(block["hash"]).hex()


def _canonical_hashes(w3: Web3, numbers: Iterable[int]) -> dict[int, str | None]:
    """The canonical hash of each block in `numbers` (None: the chain is now shorter), asked in
    one JSON-RPC batch (`eth_getBlockByNumber` without transactions) instead of one full
    `get_block` request per transaction: the recheck runs every TX_SWEEP_SECONDS over every
    transaction in the reorg window. A node that refuses the batch is asked block by block."""
    wanted = sorted(set(numbers))
    if not wanted:
        return {}
    try:
        responses = w3.provider.make_batch_request(  # type: ignore[attr-defined]
            [("eth_getBlockByNumber", [hex(n), False]) for n in wanted])
        if not isinstance(responses, list) or len(responses) != len(wanted) \
                or any(r.get("error") for r in responses):
            raise ValueError(f"batch refused: {str(responses)[:200]}")
        found: dict[int, str | None] = {}
        for number, response in zip(wanted, responses, strict=True):
            block = response.get("result")
            if block is not None and int(block["number"], 16) != number:
                raise ValueError("batch answered out of order")
            found[number] = None if block is None else str(block["hash"]).lower()
        return found
    except (AttributeError, NotImplementedError, ValueError, KeyError, TypeError) as exc:
        logger.info("canonical hashes block by block: %s", exc)
        return {number: _canonical_hash(w3, number) for number in wanted}


def _canonical_receipt(w3: Web3, tx: ChainTransaction) -> tuple[ChainTransactionAttempt, Any] | None:
    """The receipt of whichever attempt of `tx` is mined in the canonical chain, if any."""
    for attempt in tx.attempts.order_by("-id"):
        try:
            receipt = w3.eth.get_transaction_receipt(attempt.tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            continue
        if _canonical_hash(w3, receipt["blockNumber"]) == "0x" + bytes(receipt["blockHash"]).hex():
            return attempt, receipt
    return None


def transactions_recheck_confirmed(*, window_blocks: int = REORG_WINDOW_BLOCKS, limit: int = 200) -> int:
    """Re-check the CONFIRMED transactions mined in the last `window_blocks` blocks against the
    canonical chain. One that a reorg moved to another block gets its new block recorded; one that
    a reorg removed is re-broadcast (its mined attempt's signed bytes) with an alarm; one that was
    mined again but reverted, or whose nonce another transaction took, raises a critical alarm.
    Returns how many were no longer where they were recorded. Safe to run at any time."""
    w3 = get_web3()
    head = w3.eth.block_number
    rows = list(
        ChainTransaction.objects.filter(state=State.CONFIRMED, block_number__gte=max(head - window_blocks, 0))
        .exclude(block_hash="").order_by("block_number", "id")[:limit]
    )
    moved = 0
    canonical = _canonical_hashes(w3, (tx.block_number for tx in rows if tx.block_number is not None))
    for tx in rows:
        assert tx.block_number is not None
        if canonical[tx.block_number] == tx.block_hash:
            continue
        moved += 1
        found = _canonical_receipt(w3, tx)
        if found is not None:
            attempt, receipt = found
            block_hash = "0x" + bytes(receipt["blockHash"]).hex()
            with transaction.atomic():
                ChainTransaction.objects.filter(pk=tx.pk, state=State.CONFIRMED).update(
                    tx_hash=attempt.tx_hash, block_number=receipt["blockNumber"], block_hash=block_hash,
                    receipt_status=receipt["status"], gas_used=receipt["gasUsed"], updated_at=timezone.now())
                if receipt["status"] != 1:
                    alarm_raise(kind="tx_reorged", key=f"tx:{tx.pk}", severity="critical",
                                message=f"confirmed transaction {tx.pk} ({tx.purpose}) reverted when a "
                                        f"reorg mined it again in block {receipt['blockNumber']}",
                                detail={"tx_id": tx.pk, "tx_hash": attempt.tx_hash})
            logger.warning("tx %s: reorg moved it to block %s", tx.pk, receipt["blockNumber"])
            continue
        mined = tx.attempts.filter(tx_hash=tx.tx_hash).first() or tx.attempts.order_by("-id").first()
        outcome = "no attempt"
        if mined is not None:
            try:
                outcome = _broadcast(w3, tx.pk, mined)
            except TransactionSendError as exc:
                outcome = f"refused: {exc}"[:300]
        lost = outcome not in ("sent", "known")
        alarm_raise(
            kind="tx_reorged", key=f"tx:{tx.pk}", severity="critical" if lost else "warning",
            message=(f"confirmed transaction {tx.pk} ({tx.purpose}) left the canonical chain in a reorg "
                     f"of block {tx.block_number}; "
                     + ("re-broadcast, waiting to be mined again" if not lost
                        else f"it cannot be re-broadcast ({outcome}): its outcome did not happen")),
            detail={"tx_id": tx.pk, "tx_hash": tx.tx_hash, "block_number": tx.block_number,
                    "rebroadcast": outcome},
        )
    return moved
