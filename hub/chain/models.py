"""Chain records: the transaction outbox (with its nonce allocator) and ingested contract events.

The outbox is the hub's only way to send a transaction: a `ChainTransaction` row is written in
the same DB transaction as the decision that needs it, then a worker signs and broadcasts it.
Every broadcast is a `ChainTransactionAttempt` persisted before it leaves the process, so a
crash never loses track of a transaction that may be in a mempool."""

from __future__ import annotations

from typing import Any

from django.db import models

from hub.chain.fields import AmountField

__all__ = [
    "ChainCursor",
    "ChainEvent",
    "ChainReorg",
    "ChainTransaction",
    "ChainTransactionAttempt",
    "NonceCursor",
]


class NonceCursor(models.Model):
    """The next nonce to hand out for one sending address. Allocation locks this row."""

    sender = models.CharField(max_length=42, unique=True)  # lower-case 0x address
    next_nonce = models.PositiveBigIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.sender} next={self.next_nonce}"


class ChainTransaction(models.Model):
    """One logical on-chain transaction, however many times it is (re)broadcast."""

    class State(models.TextChoices):
        NEW = "new"  # recorded; no attempt broadcast yet (it may have a nonce and a signed attempt)
        SUBMITTED = "submitted"  # at least one attempt broadcast; waiting for a final receipt
        CONFIRMED = "confirmed"  # mined with status 1 and CONFIRMATIONS blocks on top
        FAILED = "failed"  # reverted, cancelled, or its nonce was used by another mined tx

    TERMINAL = (State.CONFIRMED, State.FAILED)

    purpose = models.CharField(max_length=64)
    idempotency_key = models.CharField(max_length=200, unique=True)
    sender = models.CharField(max_length=42)  # lower-case
    to = models.CharField(max_length=42)  # lower-case
    value = AmountField(default=0)
    data = models.TextField(default="0x")  # 0x-hex calldata
    gas_limit = models.PositiveBigIntegerField(null=True, blank=True)  # fixed by caller or estimate
    gas_estimate = models.PositiveBigIntegerField(null=True, blank=True)
    nonce = models.PositiveBigIntegerField(null=True, blank=True)
    max_fee_per_gas = AmountField(null=True, blank=True)  # of the latest attempt
    max_priority_fee_per_gas = AmountField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.NEW)
    on_complete = models.CharField(max_length=200, blank=True, default="")  # dotted function path
    cancel_requested_at = models.DateTimeField(null=True, blank=True)

    tx_hash = models.CharField(max_length=66, blank=True, default="")  # the mined attempt
    block_number = models.PositiveBigIntegerField(null=True, blank=True)
    block_hash = models.CharField(max_length=66, blank=True, default="")
    gas_used = models.PositiveBigIntegerField(null=True, blank=True)
    effective_gas_price = AmountField(null=True, blank=True)
    receipt_status = models.PositiveSmallIntegerField(null=True, blank=True)
    revert_reason = models.TextField(blank=True, default="")
    failure_reason = models.TextField(blank=True, default="")  # why FAILED, in words
    last_error = models.TextField(blank=True, default="")  # latest transient error (retried)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One logical transaction per (sender, nonce): replacements are attempts, not rows.
            models.UniqueConstraint(
                fields=["sender", "nonce"], condition=models.Q(nonce__isnull=False),
                name="hub_chaintx_one_per_sender_nonce",
            ),
        ]
        indexes = [
            models.Index(
                fields=["state", "updated_at"], name="hub_chaintx_open_idx",
                condition=models.Q(state__in=["new", "submitted"]),
            ),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"tx#{self.pk} {self.purpose} [{self.state}] nonce={self.nonce}"

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL


class ChainTransactionAttempt(models.Model):
    """One signed broadcast of a ChainTransaction, persisted before it is sent."""

    class Kind(models.TextChoices):
        ORIGINAL = "original"
        BUMP = "bump"  # same payload, same nonce, higher fees
        CANCEL = "cancel"  # 0-value self-transfer at the same nonce

    transaction = models.ForeignKey(
        ChainTransaction, on_delete=models.CASCADE, related_name="attempts"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ORIGINAL)
    nonce = models.PositiveBigIntegerField()
    tx_hash = models.CharField(max_length=66, unique=True)
    raw_tx = models.TextField()  # 0x-hex signed transaction: re-broadcastable as is
    gas_limit = models.PositiveBigIntegerField()
    max_fee_per_gas = AmountField()
    max_priority_fee_per_gas = AmountField()
    created_at = models.DateTimeField(auto_now_add=True)
    broadcast_at = models.DateTimeField(null=True, blank=True)
    broadcast_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.tx_hash}"


class ChainCursor(models.Model):
    """How far events of one contract have been ingested: the last block and its hash."""

    contract = models.CharField(max_length=42, unique=True)  # lower-case
    block_number = models.BigIntegerField()  # -1 before the first block was ingested
    block_hash = models.CharField(max_length=66, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.contract} @ {self.block_number}"


class ChainEvent(models.Model):
    """A contract log, stored once (tx hash, log index) and handed to its handler once."""

    class State(models.TextChoices):
        NEW = "new"
        PROCESSED = "processed"  # the handler ran and committed (or there is no handler)
        FAILED = "failed"  # the handler raised; retried at retry_at
        IGNORED = "ignored"  # no handler was registered for its name (re-dispatchable)
        ORPHANED = "orphaned"  # its block left the canonical chain

    contract = models.CharField(max_length=42)
    name = models.CharField(max_length=64)
    block_number = models.PositiveBigIntegerField()
    block_hash = models.CharField(max_length=66)
    tx_hash = models.CharField(max_length=66)
    tx_index = models.PositiveIntegerField()
    log_index = models.PositiveIntegerField()
    args = models.JSONField()  # ints as decimal strings, addresses lower-case, bytes 0x-hex
    state = models.CharField(max_length=16, choices=State.choices, default=State.NEW)
    handler = models.CharField(max_length=200, blank=True, default="")
    error = models.TextField(blank=True, default="")
    attempts = models.PositiveIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)
    was_processed = models.BooleanField(default=False)  # stays true if later orphaned
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tx_hash", "log_index"], name="hub_chainevent_unique_log"),
        ]
        indexes = [
            models.Index(fields=["contract", "block_number", "log_index"], name="hub_chainevent_pos_idx"),
            models.Index(
                fields=["block_number", "log_index"], name="hub_chainevent_todo_idx",
                condition=models.Q(state__in=["new", "failed"]),
            ),
        ]
        ordering = ["block_number", "log_index"]

    def __str__(self) -> str:
        return f"{self.name} @{self.block_number}:{self.log_index} [{self.state}]"

    def arg_int(self, name: str) -> int:
        return int(self.args[name])

    def arg_ints(self, name: str) -> list[int]:
        values: list[Any] = self.args[name]
        return [int(v) for v in values]


class ChainReorg(models.Model):
    """A reorganisation seen by the ingester below its confirmation depth."""

    contract = models.CharField(max_length=42)
    detected_at = models.DateTimeField(auto_now_add=True)
    block_number = models.BigIntegerField()  # the cursor block whose hash changed
    old_hash = models.CharField(max_length=66)
    new_hash = models.CharField(max_length=66)
    rewound_to = models.BigIntegerField()
    orphaned_events = models.PositiveIntegerField(default=0)
    orphaned_processed_events = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-detected_at"]

    def __str__(self) -> str:
        return f"reorg {self.contract} at {self.block_number} -> {self.rewound_to}"
