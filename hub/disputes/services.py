"""Every write of channel disputes: the hub's own exits, the watchtower's answers to the user's
exits, and the EmptyChannel that closes a dispute.

Guarantees:
- The answer to a user's exit is written to the transaction outbox inside the DB transaction
  that ingests the DidStartExitChannel event, so a crash after ingestion cannot lose it; the
  outbox retries and fee-bumps it until it is mined, and a failed answer is decided again
  (`dispute_advance`) until the channel is emptied on chain.
- The hub exits only with its latest state, and only if that state is double-signed, has no
  timeout and no pending operations (never with a state that has a newer half-signed one on top).
- While a dispute is active the channel's status is `channel_dispute`: the channel services
  sign nothing new on it.

Lock order: the channel row, then its dispute row (the same order as the channel services)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hub.chain.models import ChainTransaction
from hub.chain.outbox import transaction_bump, transaction_cancel_unsent, transaction_enqueue
from hub.channels.errors import ChannelError, Conflict
from hub.channels.models import Channel, ChannelUpdate, ProposedUpdate
from hub.channels.records import (
    channel_state,
    contract_address,
    hub_address,
    lock_channel,
    record_state,
)
from hub.core import DidEmptyChannel, apply_update, zero_state
from hub.disputes import onchain
from hub.disputes.models import ACTIVE_STATUSES, ChannelDispute
from hub.disputes.watch import advance_each
from ops import jobs
from ops.services import alarm_raise

logger = logging.getLogger(__name__)

Status = ChannelDispute.Status
Initiator = ChannelDispute.Initiator
Answer = ChannelDispute.Answer
TxState = ChainTransaction.State

ON_START_COMPLETE = "hub.disputes.services.start_transaction_completed"
ON_ANSWER_COMPLETE = "hub.disputes.services.answer_transaction_completed"
TOKEN = 10**18
# A failed answer is decided again after this delay (not at once: a revert in simulation fails
# in milliseconds, and the chain may need a block to show why).
RETRY_ANSWER_DELAY_MS = 2_000
ALARM_AFTER_ANSWER_ATTEMPTS = 3

# Error codes of the hub's own exits.
EXIT_CHANNEL_NOT_OPEN = "channel_not_open"
EXIT_NOTHING_TO_EXIT = "nothing_to_exit"
EXIT_NOT_EXITABLE = "latest_state_not_exitable"
EXIT_NOT_OPEN_ON_CHAIN = "channel_not_open_on_chain"


@dataclass(frozen=True, slots=True)
class ExitStarted:
    """A decoded `DidStartExitChannel(user, senderIdx, weiBalances, tokenBalances, txCount,
    threadRoot, threadCount)` plus the block it was mined in."""

    contract_address: str
    user: str
    sender_idx: int  # 0: the hub started the exit, 1: the user
    tx_count: tuple[int, int]
    thread_count: int
    block_number: int


# --- reading ------------------------------------------------------------------------------


def latest_exitable(channel: Channel) -> ChannelUpdate | None:
    """The newest valid double-signed state with timeout 0: what the contract accepts in
    `startExitWithUpdate` and `emptyChannelWithChallenge`."""
    return (ChannelUpdate.objects.filter(channel=channel, invalid__isnull=True,
                                         sig_user__isnull=False, timeout=0)
            .order_by("-tx_count_global").first())


def active_dispute(channel: Channel, *, lock: bool = False) -> ChannelDispute | None:
    rows = ChannelDispute.objects.filter(channel=channel, status__in=ACTIVE_STATUSES)
    if lock:
        rows = rows.select_for_update()
    return rows.first()


def _in_flight(tx_id: int | None) -> bool:
    return tx_id is not None and ChainTransaction.objects.filter(
        pk=tx_id, state__in=[TxState.NEW, TxState.SUBMITTED]).exists()


def _enter_dispute(channel: Channel) -> None:
    if channel.status != Channel.Status.CHANNEL_DISPUTE:
        channel.status = Channel.Status.CHANNEL_DISPUTE
        channel.save(update_fields=["status", "updated_at"])
    # An unsigned proposal can no longer be countersigned into anything the chain would take.
    ProposedUpdate.objects.filter(channel=channel, status=ProposedUpdate.Status.OPEN).update(
        status=ProposedUpdate.Status.SUPERSEDED)


def _alarm(kind: str, key: str, message: str, *, critical: bool = False, **detail: object) -> None:
    alarm_raise(kind=kind, key=key, message=message, severity="critical" if critical else "warning",
                detail={k: str(v) for k, v in detail.items()})


# --- the hub's own exits ------------------------------------------------------------------


@transaction.atomic
def dispute_exit_channel(*, user: str, reason: str) -> ChannelDispute:
    """Start a unilateral exit of `user`'s channel as the hub (an operator's decision or a stale
    channel): `startExitWithUpdate` with the hub's latest state when it is newer than the
    contract's, else `startExit`. Refused unless the latest state the hub signed is
    double-signed, without timeout and without pending operations. The start transaction goes
    through the outbox; the channel accepts no new updates from now on. At most one active
    dispute per channel."""
    channel = lock_channel(user)
    if channel.status != Channel.Status.OPEN:
        raise Conflict(EXIT_CHANNEL_NOT_OPEN, f"the channel is {channel.status}")
    latest = channel.latest_update
    if latest is None:
        raise ChannelError(EXIT_NOTHING_TO_EXIT, "the channel has no state")
    exitable = latest_exitable(channel)
    state = latest.to_state(channel.contract, channel.user)
    if exitable is None or exitable.pk != latest.pk or state.has_pending_ops:
        raise Conflict(EXIT_NOT_EXITABLE,
                       f"the latest state #{latest.tx_count_global} is not double-signed without "
                       "timeout and pending operations; the hub never exits below a newer state")
    details = onchain.channel_details(channel.user)
    if details["status"] != onchain.STATUS_OPEN:
        raise Conflict(EXIT_NOT_OPEN_ON_CHAIN, "the channel is not open on chain")
    if state.tx_count_global > details["tx_count_global"]:
        data = onchain.encode_start_exit_with_update(state)
        purpose = "dispute_start_exit_with_update"
    else:
        data = onchain.encode_start_exit(channel.user)
        purpose = "dispute_start_exit"
    dispute = ChannelDispute.objects.create(
        channel=channel, status=Status.PENDING, initiator=Initiator.HUB, reason=reason[:200],
        exit_update=latest,
    )
    dispute.start_transaction = transaction_enqueue(
        purpose=purpose, to=channel.contract, data=data,
        idempotency_key=f"dispute:{dispute.pk}:start", on_complete=ON_START_COMPLETE,
    )
    dispute.save(update_fields=["start_transaction", "updated_at"])
    _enter_dispute(channel)
    logger.info("hub exit of %s started (dispute %s, %s)", channel.user, dispute.pk, reason)
    return dispute


def start_transaction_completed(tx: ChainTransaction) -> None:
    """Outbox callback of the hub's start transaction. Success is acted on when its event is
    ingested; a failure ends the dispute and re-opens the channel."""
    if tx.state != TxState.FAILED:
        return
    found = ChannelDispute.objects.filter(start_transaction=tx).first()
    if found is None:
        return
    channel = Channel.objects.select_for_update().get(pk=found.channel_id)
    dispute = ChannelDispute.objects.select_for_update().get(pk=found.pk)
    if dispute.status != Status.PENDING:
        return
    dispute.status = Status.FAILED
    dispute.failure_reason = (f"start transaction failed: {tx.revert_reason or tx.failure_reason}")[:500]
    dispute.finished_at = timezone.now()
    dispute.save(update_fields=["status", "failure_reason", "finished_at", "updated_at"])
    if channel.status == Channel.Status.CHANNEL_DISPUTE:
        channel.status = Channel.Status.OPEN
        channel.save(update_fields=["status", "updated_at"])
    _alarm("dispute_start_failed", f"dispute:{dispute.pk}",
           f"the hub's exit of {channel.user} failed on chain: {dispute.failure_reason}",
           dispute_id=dispute.pk)


def channels_exit_stale(*, now: datetime | None = None, limit: int | None = None) -> list[ChannelDispute]:
    """Exit channels that have been silent for STALE_CHANNEL_SECONDS while the hub holds at
    least STALE_CHANNEL_MIN_HUB_TOKENS of collateral in them, richest first, at most `limit`
    (STALE_EXITS_PER_RUN) per run. Channels whose latest state is not exitable are skipped."""
    if not settings.CHANNEL_MANAGER_ADDRESS:
        return []
    now = now or timezone.now()
    limit = settings.STALE_EXITS_PER_RUN if limit is None else limit
    cutoff = now - timedelta(seconds=settings.STALE_CHANNEL_SECONDS)
    candidates = (
        Channel.objects.filter(status=Channel.Status.OPEN, contract=contract_address(),
                               latest_update__isnull=False,
                               latest_update__created_at__lt=cutoff,
                               latest_update__balance_token_hub__gte=(
                                   settings.STALE_CHANNEL_MIN_HUB_TOKENS * TOKEN))
        .filter(Q(latest_update__user_signed_at__isnull=True)
                | Q(latest_update__user_signed_at__lt=cutoff))
        .order_by("-latest_update__balance_token_hub", "pk")
        .values_list("user", flat=True)
    )
    started: list[ChannelDispute] = []
    for user in candidates[: max(limit, 0) * 5]:  # refusals do not use up the cap
        if len(started) >= limit:
            break
        try:
            started.append(dispute_exit_channel(user=user, reason="stale channel"))
        except ChannelError as exc:
            logger.info("stale exit of %s skipped: %s", user, exc.message)
    return started


# --- the watchtower -----------------------------------------------------------------------


@transaction.atomic
def dispute_record_start(*, event: ExitStarted, chain_event_id: int | None) -> ChannelDispute | None:
    """Handle DidStartExitChannel: open (or move on) the channel's dispute, freeze the channel,
    and, when the user started the exit, queue the hub's answer in this same transaction."""
    if event.contract_address.lower() != contract_address():
        return None
    channel = lock_channel(event.user)
    initiator = Initiator.HUB if event.sender_idx == 0 else Initiator.USER
    dispute = active_dispute(channel, lock=True)
    if dispute is not None and (dispute.status != Status.PENDING or initiator != Initiator.HUB):
        # The hub's queued start lost the race to the user's (its transaction will revert), or
        # a dispute we thought active is not the one on chain: the event is the truth.
        dispute.status = Status.FAILED
        dispute.failure_reason = "superseded by an exit started on chain by the other party"
        dispute.finished_at = timezone.now()
        dispute.save(update_fields=["status", "failure_reason", "finished_at", "updated_at"])
        if dispute.start_transaction_id is not None:  # after FAILED: its callback has nothing to do
            transaction_cancel_unsent(dispute.start_transaction_id)
        dispute = None
    if dispute is None:
        dispute = ChannelDispute(
            channel=channel, initiator=initiator,
            reason="started by the user" if initiator == Initiator.USER else "started by the hub key",
        )
    dispute.status = Status.IN_PERIOD
    dispute.start_event_id = chain_event_id
    dispute.onchain_tx_count_global, dispute.onchain_tx_count_chain = event.tx_count
    dispute.closing_time = onchain.block_timestamp(event.block_number) + onchain.challenge_period()
    dispute.save()
    _enter_dispute(channel)
    if initiator == Initiator.USER:
        _answer(channel, dispute, now=onchain.chain_now())
    return dispute


def _answer(channel: Channel, dispute: ChannelDispute, *, now: int) -> ChainTransaction | None:
    """Queue the hub's next move in an IN_PERIOD dispute (the caller holds both row locks):
    - the user started it and the hub holds a newer exitable state, before the closing time:
      `emptyChannelWithChallenge` with that state;
    - the user started it otherwise (the non-initiator may empty at once), or the closing time
      has passed: `emptyChannel`;
    - the hub started it and the period runs: nothing yet."""
    if _in_flight(dispute.answer_transaction_id):
        return dispute.answer_transaction
    assert dispute.closing_time is not None and dispute.onchain_tx_count_global is not None
    exitable = latest_exitable(channel)
    if (dispute.initiator == Initiator.USER and exitable is not None and now < dispute.closing_time
            and exitable.tx_count_global > dispute.onchain_tx_count_global
            and exitable.tx_count_chain >= (dispute.onchain_tx_count_chain or 0)):
        kind = Answer.CHALLENGE
        data = onchain.encode_empty_channel_with_challenge(exitable.to_state(channel.contract, channel.user))
        dispute.exit_update = exitable
    elif dispute.initiator == Initiator.USER or now > dispute.closing_time:
        kind, data = Answer.EMPTY, onchain.encode_empty_channel(channel.user)
    else:
        return None
    dispute.answer_attempts += 1
    tx = transaction_enqueue(
        purpose=f"dispute_{kind}", to=channel.contract, data=data,
        idempotency_key=f"dispute:{dispute.pk}:answer:{dispute.answer_attempts}",
        on_complete=ON_ANSWER_COMPLETE,
    )
    dispute.answer_kind, dispute.answer_transaction = kind, tx
    dispute.save(update_fields=["exit_update", "answer_attempts", "answer_kind",
                                "answer_transaction", "updated_at"])
    if dispute.answer_attempts >= ALARM_AFTER_ANSWER_ATTEMPTS:
        _alarm("dispute_answer_retried", f"dispute:{dispute.pk}",
               f"answer #{dispute.answer_attempts} to the exit of {channel.user}",
               critical=True, dispute_id=dispute.pk)
    logger.info("dispute %s: %s queued (tx %s)", dispute.pk, kind, tx.pk)
    return tx


def answer_transaction_completed(tx: ChainTransaction) -> None:
    """Outbox callback of an answer: a failure is decided again shortly (another answer, or
    nothing if the channel was emptied meanwhile); success is acted on when DidEmptyChannel is
    ingested."""
    if tx.state != TxState.FAILED:
        return
    dispute = ChannelDispute.objects.filter(answer_transaction=tx, status=Status.IN_PERIOD).first()
    if dispute is None:
        return
    logger.warning("dispute %s: %s transaction %s failed (%s); deciding again", dispute.pk,
                   dispute.answer_kind, tx.pk, tx.revert_reason or tx.failure_reason)
    dispute_id = dispute.pk
    transaction.on_commit(lambda: _send_advance(dispute_id, RETRY_ANSWER_DELAY_MS), robust=True)


def _send_advance(dispute_id: int, delay_ms: int = 0) -> None:
    jobs.send("advance_dispute", dispute_id, delay_ms=delay_ms)


@transaction.atomic
def dispute_advance(*, dispute_id: int) -> ChannelDispute:
    """Move an IN_PERIOD dispute on by the chain's clock: answer again after a failed answer,
    empty the channel once the closing time has passed, and fee-bump an answer that is still
    unmined DISPUTE_ANSWER_MARGIN seconds before the closing time. Idempotent."""
    found = ChannelDispute.objects.select_related("channel").get(pk=dispute_id)
    channel = Channel.objects.select_for_update().get(pk=found.channel_id)
    dispute = ChannelDispute.objects.select_for_update().get(pk=dispute_id)
    if dispute.status != Status.IN_PERIOD:
        return dispute
    now = onchain.chain_now()
    assert dispute.closing_time is not None
    if _in_flight(dispute.answer_transaction_id):
        if dispute.answer_kind == Answer.CHALLENGE and dispute.closing_time - now < settings.DISPUTE_ANSWER_MARGIN:
            tx_id = dispute.answer_transaction_id
            assert tx_id is not None
            _alarm("dispute_answer_late", f"dispute:{dispute.pk}",
                   f"the challenge of {channel.user}'s exit is unmined {dispute.closing_time - now}s "
                   "before the closing time; bumping its fee", critical=True, tx_id=tx_id)
            transaction.on_commit(lambda: _bump(tx_id), robust=True)
        return dispute
    answer = dispute.answer_transaction
    if answer is not None and answer.state == TxState.CONFIRMED:
        return dispute  # the channel is emptied; DidEmptyChannel finishes the dispute
    if onchain.channel_details(channel.user)["status"] != onchain.STATUS_CHANNEL_DISPUTE:
        return dispute  # emptied by someone else; its DidEmptyChannel finishes the dispute
    _answer(channel, dispute, now=now)
    return dispute


def _bump(tx_id: int) -> None:
    try:
        transaction_bump(tx_id=tx_id)
    except Exception:  # the next watch run tries again
        logger.exception("fee bump of dispute answer %s failed", tx_id)


def disputes_watch() -> int:
    """The watchtower's periodic pass over every IN_PERIOD dispute (closing times, failed or
    late answers). Returns how many were looked at."""
    ids = (ChannelDispute.objects.filter(status=Status.IN_PERIOD).order_by("closing_time")
           .values_list("pk", flat=True))
    return advance_each("dispute", ids, dispute_advance)


# --- after the dispute --------------------------------------------------------------------


@transaction.atomic
def dispute_record_empty(*, event: DidEmptyChannel, transaction_hash: str,
                         chain_event_id: int | None) -> ChannelUpdate | None:
    """Handle DidEmptyChannel: record the hub-signed all-zero EmptyChannel state one nonce
    above the state the contract settled on, finish the dispute and re-open the channel (the
    user can deposit again: txCounts persist on chain). States the hub signed above the settled
    one never took effect and are marked invalid. Idempotent on the transaction hash."""
    if event.contract_address.lower() != contract_address():
        return None
    channel = lock_channel(event.user)
    already = ChannelUpdate.objects.filter(channel=channel, reason="EmptyChannel",
                                           args__transactionHash=transaction_hash).first()
    if already is not None:
        return already
    latest = channel_state(channel, channel.user)  # what the ledger holds
    settled = event.tx_count[0]
    exitable = latest_exitable(channel)
    if exitable is not None and exitable.tx_count_global > settled:
        _alarm("dispute_lost", f"channel:{channel.pk}",
               f"{channel.user}'s channel was emptied with state #{settled} while the hub held "
               f"the double-signed state #{exitable.tx_count_global}", critical=True,
               transaction_hash=transaction_hash)
    base_row = (ChannelUpdate.objects.filter(channel=channel, invalid__isnull=True,
                                             tx_count_global__lte=settled)
                .order_by("-tx_count_global").first())
    ChannelUpdate.objects.filter(channel=channel, invalid__isnull=True,
                                 tx_count_global__gt=settled).update(
        invalid=ChannelUpdate.Invalid.ERROR, invalidated_at=timezone.now())
    base = (base_row.to_state(channel.contract, channel.user) if base_row is not None
            else zero_state(channel.contract, channel.user))
    args = {"transactionHash": transaction_hash}
    new = apply_update(base, "EmptyChannel", args, now=0, event=event)
    row = record_state(channel, latest, new, reason="EmptyChannel", args=args,
                       originator=hub_address(), chain_event_id=chain_event_id).update
    channel.status = (Channel.Status.THREAD_DISPUTE if event.thread_count
                      else Channel.Status.OPEN)
    channel.save(update_fields=["status", "updated_at"])
    dispute = active_dispute(channel, lock=True)
    if dispute is None:
        logger.warning("DidEmptyChannel for %s without an active dispute", channel.user)
        return row
    dispute.status = Status.FINISHED
    dispute.empty_event_id = chain_event_id
    dispute.empty_update = row
    dispute.finished_at = timezone.now()
    dispute.save(update_fields=["status", "empty_event", "empty_update", "finished_at", "updated_at"])
    if dispute.answer_transaction_id is not None:
        transaction_cancel_unsent(dispute.answer_transaction_id)  # a later retry is moot
    return row
