"""Channels and the append-only history of every state the hub signs.

A `ChannelUpdate` is stored BEFORE the hub's signature leaves the process (persist, then
countersign). Among valid rows, (channel, txCountGlobal) is unique. A database trigger (see the
migration) makes rows immutable except for adding the user's signature once and marking a row
invalid once: a signed state can never be rewritten."""

from __future__ import annotations

from typing import Any

from django.db import models

from hub.chain.fields import AmountField
from hub.core import ChannelState
from hub.core.state import AMOUNT_FIELDS
from ops.rows import fast_insert


class Channel(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"
        CHANNEL_DISPUTE = "channel_dispute"
        THREAD_DISPUTE = "thread_dispute"
        CHAIN_ERROR = "chain_error"

    contract = models.CharField(max_length=42)
    user = models.CharField(max_length=42)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    # The latest valid (not invalidated) state the hub signed; null until the first update.
    # Not indexed: every state moves it, and with no index on it that UPDATE stays on its page
    # (HOT) and writes no index entry (the table's fillfactor leaves the room: hub 0008). No
    # query looks a channel up by it, and updates are never deleted (append-only history).
    latest_update = models.ForeignKey(
        "hub.ChannelUpdate", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )
    # Monotonic counter of pushes on /ws/channel/, so clients can detect a gap and resync.
    push_sequence = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contract", "user"], name="hub_channel_one_per_user"),
            models.CheckConstraint(
                condition=models.Q(user__regex=r"^0x[0-9a-f]{40}$"), name="hub_channel_user_lower_hex"
            ),
        ]

    def __str__(self) -> str:
        return f"channel {self.user}"


@fast_insert
class ChannelUpdate(models.Model):
    """One hub-signed state (and, once the user countersigns, double-signed)."""

    class Invalid(models.TextChoices):
        TIMEOUT = "CU_INVALID_TIMEOUT"
        REJECTED = "CU_INVALID_REJECTED"
        ERROR = "CU_INVALID_ERROR"

    # indexed by (channel, tx_count_global) below, which serves every lookup by channel
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="updates",
                                db_index=False)
    reason = models.CharField(max_length=32)
    args = models.JSONField(default=dict)
    originator = models.CharField(max_length=42)

    recipient = models.CharField(max_length=42)
    balance_wei_hub = AmountField(default=0)
    balance_wei_user = AmountField(default=0)
    balance_token_hub = AmountField(default=0)
    balance_token_user = AmountField(default=0)
    pending_deposit_wei_hub = AmountField(default=0)
    pending_deposit_wei_user = AmountField(default=0)
    pending_deposit_token_hub = AmountField(default=0)
    pending_deposit_token_user = AmountField(default=0)
    pending_withdrawal_wei_hub = AmountField(default=0)
    pending_withdrawal_wei_user = AmountField(default=0)
    pending_withdrawal_token_hub = AmountField(default=0)
    pending_withdrawal_token_user = AmountField(default=0)
    tx_count_global = models.BigIntegerField()
    tx_count_chain = models.BigIntegerField()
    thread_root = models.CharField(max_length=66)
    thread_count = models.BigIntegerField(default=0)
    timeout = models.BigIntegerField(default=0)
    state_hash = models.CharField(max_length=66)
    sig_hub = models.CharField(max_length=132)
    sig_user = models.CharField(max_length=132, null=True, blank=True)  # noqa: DJ001 - NULL = not yet signed

    invalid = models.CharField(max_length=24, choices=Invalid.choices, null=True, blank=True)  # noqa: DJ001 - NULL = valid (partial unique index)
    # The on-chain transaction (outbox row) that executes this state's pending operations.
    chain_transaction = models.ForeignKey(
        "hub.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The ingested event that caused this update (ConfirmPending, EmptyChannel).
    chain_event = models.ForeignKey(
        "hub.ChainEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    user_signed_at = models.DateTimeField(null=True, blank=True)
    invalidated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "tx_count_global"],
                condition=models.Q(invalid__isnull=True),
                name="hub_update_one_valid_per_tx_count",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(thread_count=0, thread_root="0x" + "00" * 32)
                    | (models.Q(thread_count__gt=0) & ~models.Q(thread_root="0x" + "00" * 32))
                ),
                name="hub_update_thread_root_iff_count",
            ),
            models.CheckConstraint(
                condition=models.Q(tx_count_global__gt=0) & models.Q(tx_count_chain__gte=0),
                name="hub_update_counts_in_range",
            ),
        ]
        indexes = [models.Index(fields=["channel", "tx_count_global"])]
        ordering = ["channel_id", "tx_count_global", "id"]

    def __str__(self) -> str:
        return f"{self.reason} #{self.tx_count_global} ({self.channel.user})"

    @property
    def is_double_signed(self) -> bool:
        return bool(self.sig_user)

    def to_state(self, contract: str, user: str) -> ChannelState:
        values: dict[str, Any] = {attr: getattr(self, attr) for attr, _ in AMOUNT_FIELDS}
        return ChannelState(
            contract_address=contract, user=user, recipient=self.recipient,
            tx_count_global=self.tx_count_global, tx_count_chain=self.tx_count_chain,
            thread_root=self.thread_root, thread_count=self.thread_count, timeout=self.timeout,
            sig_hub=self.sig_hub, sig_user=self.sig_user or None, **values,
        )

    @property
    def state(self) -> ChannelState:
        return self.to_state(self.channel.contract, self.channel.user)

    def to_sync_item(self) -> dict[str, Any]:
        """The client's `{type:'channel', update:{...}}` sync item."""
        return {
            "type": "channel",
            "update": {
                "id": self.pk,
                "reason": self.reason,
                "args": self.args,
                "txCount": self.tx_count_global,
                "sigHub": self.sig_hub,
                "sigUser": self.sig_user or "",
                "createdOn": self.created_at.isoformat(),
            },
        }


class ProposedUpdate(models.Model):
    """An unsigned hub proposal (exchange, withdrawal, hub collateral deposit) waiting for the
    user's signature. Stored in the database with an expiry; at most one open per channel."""

    class Status(models.TextChoices):
        OPEN = "open"
        ACCEPTED = "accepted"
        EXPIRED = "expired"
        SUPERSEDED = "superseded"

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="proposals")
    reason = models.CharField(max_length=32)
    args = models.JSONField()
    tx_count_global = models.BigIntegerField()
    state = models.JSONField()  # the full unsigned state in the client's JSON shape
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_update = models.ForeignKey(
        ChannelUpdate, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel"], condition=models.Q(status="open"),
                name="hub_proposal_one_open_per_channel",
            )
        ]

    def __str__(self) -> str:
        return f"proposed {self.reason} #{self.tx_count_global}"

    def to_sync_item(self) -> dict[str, Any]:
        # The client recognises an unsigned proposal by its negative id and null txCount
        # (the original hub used -timestamp); it merges them last.
        return {
            "type": "channel",
            "update": {
                "id": -int(self.created_at.timestamp() * 1000),
                "reason": self.reason,
                "args": self.args,
                "txCount": None,
                "sigHub": "",
                "sigUser": "",
                "createdOn": self.created_at.isoformat(),
            },
        }


class DepositAuthorization(models.Model):
    """A user's deposit-request signature, used at most once per channel state.

    The signed message binds only the two amounts, and signatures are deterministic (RFC 6979),
    so a later deposit of the same amounts carries the very same signature: it may authorise one
    proposal on top of each state, never two proposals on top of the same one."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    signature = models.CharField(max_length=132)
    on_tx_count = models.BigIntegerField()  # txCountGlobal of the state the proposal builds on
    amount_wei = AmountField()
    amount_token = AmountField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "signature", "on_tx_count"],
                                    name="hub_deposit_authorization_once_per_state"),
        ]

    def __str__(self) -> str:
        return f"deposit authorization {self.pk}"
