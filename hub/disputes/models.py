"""Channel disputes: one row per on-chain exit of a channel, whoever started it.

State machine (`ChannelDispute.Status`):

    hub decides to exit ──► PENDING ──(DidStartExitChannel)──► IN_PERIOD ──(DidEmptyChannel)──► FINISHED
                              │                                   ▲
                              └──(start tx failed / lost the race)─► FAILED
    user's DidStartExitChannel ───────────────────────────────────┘

While a dispute is PENDING or IN_PERIOD the channel's status is `channel_dispute`, so the channel
services sign nothing new on top of the state being disputed. At most one such dispute per
channel (a partial unique index)."""

from __future__ import annotations

from django.db import models

ACTIVE_STATUSES = ("pending", "in_period")


class ChannelDispute(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"  # the hub's start transaction is queued, not yet seen on chain
        IN_PERIOD = "in_period"  # DidStartExitChannel seen; the challenge period runs
        FINISHED = "finished"  # DidEmptyChannel seen; EmptyChannel recorded
        FAILED = "failed"  # the hub's start never happened on chain

    class Initiator(models.TextChoices):
        HUB = "hub"
        USER = "user"

    class Answer(models.TextChoices):
        CHALLENGE = "challenge"  # emptyChannelWithChallenge with the hub's latest exitable state
        EMPTY = "empty"  # emptyChannel

    channel = models.ForeignKey("hub.Channel", on_delete=models.PROTECT, related_name="disputes")
    status = models.CharField(max_length=16, choices=Status.choices)
    initiator = models.CharField(max_length=8, choices=Initiator.choices)
    reason = models.CharField(max_length=200, blank=True, default="")  # why the hub exited
    # The state the hub exited with (hub-initiated) or last answered with (a challenge).
    exit_update = models.ForeignKey(
        "hub.ChannelUpdate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    start_transaction = models.ForeignKey(
        "hub.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    start_event = models.ForeignKey(
        "hub.ChainEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The contract's channel after the exit started: txCount [global, chain] and closing time.
    onchain_tx_count_global = models.BigIntegerField(null=True, blank=True)
    onchain_tx_count_chain = models.BigIntegerField(null=True, blank=True)
    closing_time = models.BigIntegerField(null=True, blank=True)  # unix seconds, chain time
    # The hub's latest answer (each retry is a new outbox row; `answer_attempts` keys them).
    answer_kind = models.CharField(max_length=16, choices=Answer.choices, blank=True, default="")
    answer_transaction = models.ForeignKey(
        "hub.ChainTransaction", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answer_attempts = models.PositiveIntegerField(default=0)
    empty_event = models.ForeignKey(
        "hub.ChainEvent", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    empty_update = models.ForeignKey(
        "hub.ChannelUpdate", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    failure_reason = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel"], condition=models.Q(status__in=ACTIVE_STATUSES),
                name="hub_dispute_one_active_per_channel",
            ),
        ]
        indexes = [models.Index(fields=["status"])]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"dispute {self.pk} ({self.initiator}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
