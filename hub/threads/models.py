"""Threads between two channel users, and every thread state the sender signed.

A `ThreadRecord` is one thread (sender, receiver, threadId). Its initial state is a leaf of the
threadRoot of both channels from the OpenThread the hub signs in each, until the CloseThread the
hub signs in that channel (`*_open_update` / `*_close_update`). `ThreadUpdate` rows are the
sender-signed states, txCount 0 (the initial state) upwards; their ids are the client's
`lastThreadUpdateId` cursor. At most one thread per (sender, receiver) is not closed."""

from __future__ import annotations

from typing import Any

from django.db import models

from hub.chain.fields import AmountField
from hub.core import ThreadState


class ThreadRecord(models.Model):
    class Status(models.TextChoices):
        OPEN = "open"  # CT_OPEN
        DISPUTE = "dispute"  # CT_EXITING: one of its channels is in thread dispute on chain
        CLOSED = "closed"  # CT_CLOSED: out of both channels' roots

    contract = models.CharField(max_length=42)
    sender = models.CharField(max_length=42)
    receiver = models.CharField(max_length=42)
    thread_id = models.BigIntegerField()
    sender_channel = models.ForeignKey("hub.Channel", on_delete=models.PROTECT, related_name="+")
    receiver_channel = models.ForeignKey("hub.Channel", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    # the sender's initial deposit into the thread (receiver side starts at zero)
    initial_wei = AmountField(default=0)
    initial_token = AmountField(default=0)
    initial_sig = models.CharField(max_length=132)
    # the latest state the sender signed
    latest = models.ForeignKey("hub.ThreadUpdate", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    sender_open_update = models.ForeignKey("hub.ChannelUpdate", null=True, blank=True,
                                           on_delete=models.PROTECT, related_name="+")
    receiver_open_update = models.ForeignKey("hub.ChannelUpdate", null=True, blank=True,
                                             on_delete=models.PROTECT, related_name="+")
    sender_close_update = models.ForeignKey("hub.ChannelUpdate", null=True, blank=True,
                                            on_delete=models.PROTECT, related_name="+")
    receiver_close_update = models.ForeignKey("hub.ChannelUpdate", null=True, blank=True,
                                              on_delete=models.PROTECT, related_name="+")
    # set when the thread left a channel's root on chain (emptyThread / nukeThreads)
    sender_settled_on_chain = models.BooleanField(default=False)
    receiver_settled_on_chain = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contract", "sender", "receiver", "thread_id"],
                                    name="hub_thread_unique_id"),
            models.UniqueConstraint(fields=["contract", "sender", "receiver"],
                                    condition=~models.Q(status="closed"),
                                    name="hub_thread_one_active_per_pair"),
            models.CheckConstraint(condition=~models.Q(sender=models.F("receiver")),
                                   name="hub_thread_distinct_parties"),
        ]
        indexes = [models.Index(fields=["status"])]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"thread {self.sender} -> {self.receiver} #{self.thread_id} ({self.status})"

    def initial_state(self) -> ThreadState:
        return ThreadState(
            contract_address=self.contract, sender=self.sender, receiver=self.receiver,
            thread_id=self.thread_id, balance_wei_sender=self.initial_wei,
            balance_token_sender=self.initial_token, tx_count=0, sig_a=self.initial_sig)

    def latest_state(self) -> ThreadState:
        if self.latest is None:
            return self.initial_state()
        return self.latest.to_state(self)

    def in_root_of(self, channel_id: int) -> bool:
        """Is the initial state a leaf of this channel's latest threadRoot?"""
        if channel_id == self.sender_channel_id:
            return self.sender_open_update_id is not None and self.sender_close_update_id is None \
                and not self.sender_settled_on_chain
        if channel_id == self.receiver_channel_id:
            return (self.receiver_open_update_id is not None
                    and self.receiver_close_update_id is None
                    and not self.receiver_settled_on_chain)
        return False

    @property
    def status_name(self) -> str:
        return {"open": "CT_OPEN", "dispute": "CT_EXITING", "closed": "CT_CLOSED"}[self.status]

    def to_json(self) -> dict[str, Any]:
        """The client's ThreadRow: `{id, status, state}`."""
        return {"id": self.pk, "status": self.status_name, "state": self.latest_state().to_json()}


class ThreadUpdate(models.Model):
    """One sender-signed thread state (append-only)."""

    thread = models.ForeignKey(ThreadRecord, on_delete=models.PROTECT, related_name="updates")
    tx_count = models.BigIntegerField()
    balance_wei_sender = AmountField(default=0)
    balance_wei_receiver = AmountField(default=0)
    balance_token_sender = AmountField(default=0)
    balance_token_receiver = AmountField(default=0)
    sig_a = models.CharField(max_length=132)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "tx_count"], name="hub_thread_update_once"),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"thread update {self.thread_id}#{self.tx_count}"

    def to_state(self, thread: ThreadRecord) -> ThreadState:
        return ThreadState(
            contract_address=thread.contract, sender=thread.sender, receiver=thread.receiver,
            thread_id=thread.thread_id, balance_wei_sender=self.balance_wei_sender,
            balance_wei_receiver=self.balance_wei_receiver,
            balance_token_sender=self.balance_token_sender,
            balance_token_receiver=self.balance_token_receiver, tx_count=self.tx_count,
            sig_a=self.sig_a)

    def to_sync_item(self) -> dict[str, Any]:
        """The client's `{type:'thread', update: ThreadStateUpdateRow}` sync item."""
        return {"type": "thread", "update": {
            "id": self.pk, "createdOn": self.created_at.isoformat(),
            "state": self.to_state(self.thread).to_json()}}


class ThreadDispute(models.Model):
    """The hub's side of one thread's exit in one channel that is in thread dispute on chain
    (after DidEmptyChannel left threads in it).

    State machine (`Status`):

        PENDING ──(DidStartExitThread)──► IN_PERIOD ──(DidEmptyThread for this channel)──► EMPTIED
           │  the hub's startExitThread[WithUpdate]     │ a user's older state: challengeThread
           │  is queued (or the user's start is seen)   │ after the closing time: emptyThread
           └─────────(DidNukeThreads)───────────────────┴──────────────────────────────────► NUKED

    Every transaction goes through the outbox (retried and fee-bumped until mined); a failed one
    is decided again by `thread_dispute_advance`, which the periodic watch also runs."""

    class Status(models.TextChoices):
        PENDING = "pending"
        IN_PERIOD = "in_period"
        EMPTIED = "emptied"
        NUKED = "nuked"

    thread = models.ForeignKey(ThreadRecord, on_delete=models.PROTECT, related_name="disputes")
    channel = models.ForeignKey("hub.Channel", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # the thread on chain: txCount and closing time (unix seconds, chain time)
    onchain_tx_count = models.BigIntegerField(null=True, blank=True)
    closing_time = models.BigIntegerField(null=True, blank=True)
    # the ThreadRecord ids whose initial states make up the channel's threadRoot on chain
    root_thread_ids = models.JSONField(default=list)
    last_action = models.CharField(max_length=32, blank=True, default="")
    action_transaction = models.ForeignKey("hub.ChainTransaction", null=True, blank=True,
                                           on_delete=models.PROTECT, related_name="+")
    action_attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["thread", "channel"],
                                    name="hub_thread_dispute_once_per_channel"),
        ]
        indexes = [models.Index(fields=["status"])]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"thread dispute {self.pk} ({self.status})"
