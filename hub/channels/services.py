"""Every write to channels: lock, apply the pure core, persist, post the ledger, then publish.

Lock order: one channel row at a time here; callers that touch two channels (payments) lock the
lower channel id first. The hub signs a state only after the row that holds it is written in the
same transaction, so a state signed by the hub always exists in the history (persist, then
countersign)."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from hub import push
from hub.channels import errors
from hub.channels.errors import ChannelError, Conflict
from hub.channels.locks import channel_heads_write, channels_lock
from hub.channels.models import Channel, ChannelUpdate, DepositAuthorization, ProposedUpdate
from hub.core import (
    ChannelState,
    DepositArgs,
    DidUpdateChannel,
    ExchangeArgs,
    InvalidationArgs,
    UpdateRejected,
    WithdrawalArgs,
    apply_update,
    assert_channel_signer,
    parse_address,
    parse_args,
    validate_signed_update,
    zero_state,
)
from hub.core.rates import calculate_exchange, token_to_wei, wei_to_token
from hub.core.state import ZERO_ADDRESS, parse_uint
from hub.ledger.services import post_channel_change
from hub.rates.services import rate_current
from ops.rows import rows_insert

logger = logging.getLogger(__name__)

PROPOSAL_LIFETIME = timedelta(minutes=5)
PENDING_TIMEOUT_SECONDS = 5 * 60  # user deposits and withdrawals must reach the chain in 5 min
USER_TOKEN_LIMIT = 70 * 10**18  # the "booty limit": tokens a user may buy from the hub
MIN_WITHDRAWAL_WEI = 10**13  # below this a pending field is dust (the original hub's rule)

# Reasons a client may introduce as a NEW state through `update` (the rest are the hub's own).
CLIENT_REASONS = {"Payment", "Exchange", "ProposePendingDeposit", "ProposePendingWithdrawal",
                  "Invalidation", "OpenThread", "CloseThread"}


# --- reading ------------------------------------------------------------------------------

def contract_address() -> str:
    address = settings.CHANNEL_MANAGER_ADDRESS
    if not address:
        raise ChannelError("contracts_not_deployed", "the ChannelManager is not deployed", status=503)
    return address.lower()


def hub_address() -> str:
    from hub.chain.signer import hub_address as configured

    return configured().lower()


def channel_find(user: str) -> Channel | None:
    return Channel.objects.filter(contract=contract_address(), user=user.lower()).first()


def channel_state(channel: Channel | None, user: str) -> ChannelState:
    """The latest valid state the hub signed (state 0 for a channel without history)."""
    if channel is None or channel.latest_update_id is None:
        return zero_state(contract_address(), user.lower())
    # Callers that lock the channel load its latest update in the same query; but under READ
    # COMMITTED a row lock that waited re-reads the channel row and not the joined one, so the
    # joined update can be older than (or missing for) the id: then read it again.
    update = channel._state.fields_cache.get("latest_update")
    if update is None or update.pk != channel.latest_update_id:
        update = ChannelUpdate.objects.get(pk=channel.latest_update_id)
        channel.latest_update = update
    return update.to_state(channel.contract, channel.user)


def block_time() -> int:
    """The latest block's timestamp: the clock new timeouts are set and checked against (the
    contract compares a timeout with the block that executes it). Never used to decide that a
    timeout has passed: see `ingested_block_time`."""
    from hub.chain.market import latest_block_time

    return latest_block_time()


def ingested_block_time() -> int:
    """The timestamp the hub judges passed timeouts by: the newest block whose events are
    ingested and handled. With CONFIRMATIONS > 0 the latest block runs ahead of the ingester, so
    a deposit mined before its timeout would otherwise be invalidated before its event is seen.
    0 before anything was ingested: then no timeout has passed."""
    from hub.chain.ingest import ingested_head_time

    return ingested_head_time(contract_address()) or 0


# --- writing primitives -------------------------------------------------------------------

def _lock_channel(user: str) -> Channel:
    """The user's channel row, locked for this transaction (created when missing)."""
    user = user.lower()
    return channels_lock(contract_address(), [user])[user]


def _require_open(channel: Channel) -> None:
    if channel.status != Channel.Status.OPEN:
        raise ChannelError(errors.CHANNEL_NOT_OPEN, f"the channel is {channel.status}", status=409)


@dataclass
class Recorded:
    update: ChannelUpdate
    state: ChannelState


def record_state(channel: Channel, prev: ChannelState, new: ChannelState, *, reason: str,
            args: Mapping[str, Any], originator: str, chain_transaction_id: int | None = None,
            chain_event_id: int | None = None) -> Recorded:
    """Sign `new` as the hub, store it, post the ledger and queue the push (after commit)."""
    from hub.chain.signer import hub_state_signer
    from hub.core import channel_state_hash

    signed = hub_state_signer().sign_channel_state(new.replace(sig_hub=None), as_party="hub")
    signed = signed.replace(sig_user=new.sig_user)
    row = ChannelUpdate(
        channel=channel, reason=reason, args=dict(args), originator=originator.lower(),
        recipient=signed.recipient, state_hash=channel_state_hash(signed),
        tx_count_global=signed.tx_count_global, tx_count_chain=signed.tx_count_chain,
        thread_root=signed.thread_root, thread_count=signed.thread_count, timeout=signed.timeout,
        sig_hub=signed.sig_hub or "", sig_user=signed.sig_user,
        user_signed_at=timezone.now() if signed.sig_user else None,
        chain_transaction_id=chain_transaction_id, chain_event_id=chain_event_id,
        **{field: getattr(signed, field) for field in _AMOUNT_ATTRS},
    )
    rows_insert([row])
    post_channel_change(channel_id=channel.pk, before=prev, after=signed,
                        memo=f"{reason} #{signed.tx_count_global}", channel_update_id=row.pk)
    channel.latest_update = row
    channel.push_sequence += 1
    dirty = getattr(_channel_batch, "channels", None)
    if dirty is not None:
        dirty[channel.pk] = channel
    else:
        channel_heads_write([channel])
    _push(channel, row)
    return Recorded(row, signed)


_channel_batch = threading.local()


@contextmanager
def channel_writes_batched() -> Iterator[None]:
    """Inside one transaction that records several states (a purchase): write the channels'
    new heads and the ledger postings once at the end instead of once per state."""
    from hub.ledger.services import ledger_batch

    if getattr(_channel_batch, "channels", None) is not None:
        yield
        return
    _channel_batch.channels = {}
    try:
        with ledger_batch():
            yield
            dirty: dict[int, Channel] = _channel_batch.channels
    finally:
        _channel_batch.channels = None
    channel_heads_write(dirty.values())


def _push(channel: Channel, row: ChannelUpdate) -> None:
    push.push_channel_updates_on_commit(
        channel.user,
        [{**row.to_sync_item(), "type": "channel_update", "seq": channel.push_sequence}],
    )


def _add_user_signature(channel: Channel, row: ChannelUpdate, sig_user: str | None) -> ChannelUpdate:
    """Countersign a hub-signed state. Adding is once; a different signature is refused."""
    if not sig_user:
        raise UpdateRejected("bad_signature", "missing user signature")
    if row.sig_user:
        if row.sig_user.lower() != sig_user.lower():
            raise Conflict(errors.SIGNATURE_CONFLICT,
                           f"update {row.tx_count_global} is already countersigned differently")
        return row
    state = row.to_state(channel.contract, channel.user).replace(sig_user=sig_user.lower())
    assert_channel_signer(state, hub_address=hub_address(), signer="user")
    updated = ChannelUpdate.objects.filter(pk=row.pk, sig_user__isnull=True).update(
        sig_user=sig_user.lower(), user_signed_at=timezone.now()
    )
    if not updated:
        raise Conflict(errors.SIGNATURE_CONFLICT, "the update was countersigned concurrently")
    row.refresh_from_db()
    channel.push_sequence += 1
    channel.save(update_fields=["push_sequence", "updated_at"])
    _push(channel, row)
    return row


_AMOUNT_ATTRS = (
    "balance_wei_hub", "balance_wei_user", "balance_token_hub", "balance_token_user",
    "pending_deposit_wei_hub", "pending_deposit_wei_user", "pending_deposit_token_hub",
    "pending_deposit_token_user", "pending_withdrawal_wei_hub", "pending_withdrawal_wei_user",
    "pending_withdrawal_token_hub", "pending_withdrawal_token_user",
)


# --- requests from the user ---------------------------------------------------------------

@transaction.atomic
def channel_request_deposit(*, user: str, deposit_wei: Any, deposit_token: Any,
                            sig_user: Any) -> ChannelUpdate:
    """The hub's half of a user deposit: a hub-signed ProposePendingDeposit with a 5-minute
    timeout (by block time) that the user countersigns and sends on-chain. A deposit-request
    signature is accepted at most once."""
    wei = parse_uint(deposit_wei, "depositWei")
    token = parse_uint(deposit_token, "depositToken")
    if wei == 0 and token == 0:
        raise UpdateRejected("bad_args", "a deposit needs depositWei or depositToken")
    if not isinstance(sig_user, str):
        raise UpdateRejected("bad_signature", "sigUser is required")
    channel = _lock_channel(user)
    _require_open(channel)
    prev = channel_state(channel, user)
    # Claimed first: the claim is rolled back with everything else if the deposit is refused.
    try:
        with transaction.atomic():
            DepositAuthorization.objects.create(
                channel=channel, signature=sig_user.lower(), on_tx_count=prev.tx_count_global,
                amount_wei=wei, amount_token=token)
    except IntegrityError:
        raise Conflict(errors.DEPOSIT_AUTHORIZATION_USED,
                       "this deposit request signature was already used") from None
    now = block_time()
    args = DepositArgs(deposit_wei_hub=0, deposit_wei_user=wei, deposit_token_hub=0,
                       deposit_token_user=token, timeout=now + PENDING_TIMEOUT_SECONDS,
                       sig_user=sig_user.lower())
    new = apply_update(prev, "ProposePendingDeposit", args, now=now)
    _supersede_proposals(channel)
    return record_state(channel, prev, new, reason="ProposePendingDeposit", args=args.to_json(),
                   originator=user).update


def _supersede_proposals(channel: Channel) -> None:
    ProposedUpdate.objects.filter(channel=channel, status=ProposedUpdate.Status.OPEN).update(
        status=ProposedUpdate.Status.SUPERSEDED
    )


def _open_proposal(channel: Channel) -> ProposedUpdate | None:
    proposal = ProposedUpdate.objects.filter(
        channel=channel, status=ProposedUpdate.Status.OPEN
    ).first()
    if proposal is not None and proposal.expires_at <= timezone.now():
        ProposedUpdate.objects.filter(pk=proposal.pk).update(status=ProposedUpdate.Status.EXPIRED)
        return None
    return proposal


def _propose(channel: Channel, prev: ChannelState, reason: str, args: Any,
             lifetime: timedelta = PROPOSAL_LIFETIME) -> ProposedUpdate:
    """Store an unsigned hub proposal (one open per channel), validated by the core first."""
    now = block_time()
    new = apply_update(prev, reason, args, now=now, hub_rate=rate_current())
    _supersede_proposals(channel)
    proposal = ProposedUpdate.objects.create(
        channel=channel, reason=reason, args=args.to_json(),
        tx_count_global=new.tx_count_global, state=new.to_json(with_sigs=False),
        expires_at=timezone.now() + lifetime,
    )
    channel.push_sequence += 1
    channel.save(update_fields=["push_sequence", "updated_at"])
    push.push_channel_updates_on_commit(
        channel.user, [{**proposal.to_sync_item(), "type": "channel_update",
                        "seq": channel.push_sequence}],
    )
    return proposal


@transaction.atomic
def channel_request_exchange(*, user: str, wei_to_sell: Any, tokens_to_sell: Any) -> ProposedUpdate | None:
    """An unsigned Exchange proposal at the hub's rate, capped by the hub's balances and the
    user token limit. None when nothing can be exchanged."""
    wei = parse_uint(wei_to_sell, "weiToSell")
    tokens = parse_uint(tokens_to_sell, "tokensToSell")
    if wei and tokens:
        raise UpdateRejected("bad_args", "sell wei or tokens, not both")
    rate = rate_current()
    if rate is None:
        raise UpdateRejected("rate_unavailable", "the hub has no exchange rate younger than 24 h")
    channel = _lock_channel(user)
    _require_open(channel)
    prev = channel_state(channel, user)
    if wei:
        token_cap = min(prev.balance_token_hub, max(0, USER_TOKEN_LIMIT - prev.balance_token_user))
        wei = min(wei, prev.balance_wei_user, token_to_wei(token_cap, rate.rate))
    if tokens:
        tokens = min(tokens, prev.balance_token_user, wei_to_token(prev.balance_wei_hub, rate.rate))
    if wei == 0 and tokens == 0:
        return None
    amounts = calculate_exchange(seller="user", rate=rate.rate, wei_to_sell=wei, tokens_to_sell=tokens)
    if amounts.tokens_received == 0 and amounts.wei_received == 0:
        return None
    args = ExchangeArgs(seller="user", exchange_rate=rate.rate, wei_to_sell=wei, tokens_to_sell=tokens)
    return _propose(channel, prev, "Exchange", args)


@transaction.atomic
def channel_request_withdrawal(*, user: str, params: Mapping[str, Any]) -> ProposedUpdate | None:
    """An unsigned ProposePendingWithdrawal: sell `tokensToSell` (or `weiToSell`) at the client's
    rate (within 2 % of the hub's), then withdraw `withdrawalWeiUser` plus the proceeds and
    `withdrawalTokenUser` to `recipient`. The hub covers its side of the exchange from reserves
    when its channel balance is short. Timeout: 5 minutes of block time."""
    from ops.models import GlobalSwitches

    if not GlobalSwitches.current().withdrawals_enabled:
        raise ChannelError(errors.WITHDRAWALS_DISABLED, "withdrawals are switched off", status=503)
    recipient = parse_address(params.get("recipient"), "recipient")
    rate_text = params.get("exchangeRate")
    wd_wei = parse_uint(params.get("withdrawalWeiUser", "0"), "withdrawalWeiUser")
    wd_token = parse_uint(params.get("withdrawalTokenUser", "0"), "withdrawalTokenUser")
    tokens_to_sell = parse_uint(params.get("tokensToSell", "0"), "tokensToSell")
    wei_to_sell = parse_uint(params.get("weiToSell", "0"), "weiToSell")
    if tokens_to_sell and wei_to_sell:
        raise UpdateRejected("bad_args", "sell wei or tokens, not both")
    channel = _lock_channel(user)
    _require_open(channel)
    prev = channel_state(channel, user)
    now = block_time()
    if not isinstance(rate_text, str):
        hub_rate = rate_current()
        if hub_rate is None:
            raise UpdateRejected("rate_unavailable", "the hub has no exchange rate")
        rate_text = hub_rate.rate
    x = calculate_exchange(seller="user", rate=rate_text, wei_to_sell=wei_to_sell,
                           tokens_to_sell=tokens_to_sell)
    user_wei_after = prev.balance_wei_user + x.wei_received - x.wei_sold
    user_token_after = prev.balance_token_user + x.tokens_received - x.tokens_sold
    withdraw_wei = wd_wei + x.wei_received
    withdraw_token = wd_token + x.tokens_received
    if withdraw_wei == 0 and withdraw_token == 0 and x.tokens_sold == 0 and x.wei_sold == 0:
        return None  # nothing to do (the Connext client asks this after a custodial withdrawal)
    if withdraw_wei and withdraw_wei < MIN_WITHDRAWAL_WEI and not withdraw_token:
        raise UpdateRejected("bad_args", "the withdrawal is below the dust limit")
    if recipient == ZERO_ADDRESS:
        raise UpdateRejected("bad_args", "withdrawals cannot go to the zero address")
    hub_tokens_after = max(prev.balance_token_hub - x.tokens_received + x.tokens_sold, 0)
    args = WithdrawalArgs(
        seller="user", exchange_rate=rate_text, tokens_to_sell=tokens_to_sell,
        wei_to_sell=wei_to_sell, recipient=recipient,
        target_wei_user=user_wei_after - withdraw_wei,
        target_token_user=user_token_after - withdraw_token,
        target_wei_hub=max(prev.balance_wei_hub - x.wei_received + x.wei_sold, 0),
        # excess hub collateral goes back to the reserve in the same transaction
        target_token_hub=_hub_tokens_to_keep(user, hub_tokens_after,
                                             user_wei_after - withdraw_wei, rate_text),
        timeout=now + PENDING_TIMEOUT_SECONDS,
    )
    if args.target_wei_user < 0 or args.target_token_user < 0:
        raise UpdateRejected("insufficient_balance", "the channel cannot cover this withdrawal")
    return _propose(channel, prev, "ProposePendingWithdrawal", args)


def _hub_tokens_to_keep(user: str, hub_tokens: int, user_wei_left: int, rate: str) -> int:
    from hub.collateral.policy import keep_on_withdrawal
    from hub.collateral.services import limits_for, recent_payers

    buying_power = min(wei_to_token(user_wei_left, rate), USER_TOKEN_LIMIT)
    return keep_on_withdrawal(hub_balance=hub_tokens, recent_payers=recent_payers(user),
                              limits=limits_for(user), user_buying_power=buying_power)


@transaction.atomic
def channel_propose_hub_reclaim(*, user: str) -> ProposedUpdate | None:
    """An unsigned withdrawal that returns all the hub's collateral in an idle channel to the
    reserve and leaves the user's balances untouched. None when there is nothing to reclaim or
    the channel is busy."""
    channel = _lock_channel(user)
    if channel.status != Channel.Status.OPEN:
        return None
    prev = channel_state(channel, user)
    if (prev.has_pending_ops or prev.timeout != 0 or _open_proposal(channel) is not None
            or (prev.balance_token_hub == 0 and prev.balance_wei_hub == 0)):
        return None
    hub_rate = rate_current()
    args = WithdrawalArgs(
        seller="user", exchange_rate=hub_rate.rate if hub_rate else "1", tokens_to_sell=0,
        wei_to_sell=0, recipient=prev.user, target_wei_user=prev.balance_wei_user,
        target_token_user=prev.balance_token_user, target_wei_hub=0, target_token_hub=0,
        timeout=block_time() + PENDING_TIMEOUT_SECONDS,
    )
    return _propose(channel, prev, "ProposePendingWithdrawal", args)


@transaction.atomic
def channel_propose_hub_deposit(*, user: str, wei: int, token: int) -> ProposedUpdate | None:
    """An unsigned hub collateral deposit (timeout 0) for the user to countersign. Refused on
    top of pending operations or an open proposal (a top-up never stacks on another one)."""
    channel = _lock_channel(user)
    _require_open(channel)
    prev = channel_state(channel, user)
    if prev.has_pending_ops or prev.timeout != 0 or _open_proposal(channel) is not None:
        return None
    args = DepositArgs(deposit_wei_hub=wei, deposit_wei_user=0, deposit_token_hub=token,
                       deposit_token_user=0, timeout=0)
    return _propose(channel, prev, "ProposePendingDeposit", args, lifetime=timedelta(minutes=10))


# --- the `update` route ----------------------------------------------------------------------

def channel_apply_client_update(*, user: str, request: Mapping[str, Any]) -> ChannelUpdate | None:
    """Apply one update the client posted. Either a countersignature of a state the hub already
    signed, or a new state (txCountGlobal = latest + 1) the hub validates and countersigns.
    Returns the stored row (None when the client sent an update the hub ignores)."""
    if not isinstance(request, Mapping):
        raise UpdateRejected("bad_args", "each update must be an object")
    reason = request.get("reason")
    tx_count = parse_uint(request.get("txCount"), "txCount")
    if reason in ("OpenThread", "CloseThread"):
        from hub.threads.services import thread_channel_update

        # New thread states touch two channels (locked in id order there); a countersignature
        # of a state the hub signed falls through to the path below.
        opened_or_closed = thread_channel_update(user=user, request=request)
        if opened_or_closed is not None:
            return opened_or_closed
    with transaction.atomic():
        channel = _lock_channel(user)
        latest = channel_state(channel, user)
        if tx_count <= latest.tx_count_global:
            row = ChannelUpdate.objects.filter(channel=channel, tx_count_global=tx_count).order_by(
                "invalid", "-id").first()
            if row is None:
                raise ChannelError(errors.UPDATE_NOT_FOUND, f"no update with txCount {tx_count}",
                                   status=404)
            if row.invalid:
                return None  # the client is catching up on an update that was invalidated
            if row.reason != reason:
                raise UpdateRejected("state_mismatch",
                                     f"update {tx_count} is a {row.reason}, not {reason}")
            return _add_user_signature(channel, row, request.get("sigUser"))
        if tx_count != latest.tx_count_global + 1:
            raise UpdateRejected("tx_count_global",
                                 f"txCount {tx_count} does not follow {latest.tx_count_global}")
        if reason not in CLIENT_REASONS:
            raise ChannelError(errors.REASON_NOT_ACCEPTED, f"{reason} is generated by the hub only")
        if reason in ("OpenThread", "CloseThread"):  # raced with another update: retry
            raise Conflict(errors.SIGNATURE_CONFLICT, f"txCount {tx_count} was taken meanwhile")
        _require_open(channel)
        sig_user = request.get("sigUser")
        if reason == "Invalidation":
            return _user_invalidation(channel, latest, request.get("args"), sig_user)
        proposal = _open_proposal(channel)
        args = parse_args(str(reason), request.get("args"))
        if reason == "Payment":
            if args.recipient != "hub":  # type: ignore[union-attr]
                raise UpdateRejected("bad_args", "a client may only pay the hub")
            return _countersign_new(channel, latest, reason, args, sig_user, originator=user)
        if proposal is None or proposal.reason != reason or proposal.tx_count_global != tx_count:
            raise ChannelError(errors.NO_OPEN_PROPOSAL,
                               f"the hub has no open {reason} proposal for txCount {tx_count}",
                               status=409)
        if parse_args(proposal.reason, proposal.args) != args:
            raise ChannelError(errors.PROPOSAL_MISMATCH, "the update differs from the hub's proposal",
                               status=409)
        row = _countersign_new(channel, latest, str(reason), args, sig_user, originator=user,
                               with_transaction=reason != "Exchange")
        ProposedUpdate.objects.filter(pk=proposal.pk).update(
            status=ProposedUpdate.Status.ACCEPTED, accepted_update=row)
        return row


def _countersign_new(channel: Channel, prev: ChannelState, reason: str, args: Any,
                     sig_user: Any, *, originator: str, with_transaction: bool = False) -> ChannelUpdate:
    now = block_time() if reason != "Payment" else 0
    expected = apply_update(prev, reason, args, now=now, hub_rate=rate_current())
    if not isinstance(sig_user, str):
        raise UpdateRejected("bad_signature", "missing user signature")
    signed = expected.replace(sig_user=sig_user.lower())
    validate_signed_update(prev, signed, reason, args, hub_address=hub_address(), now=now,
                           hub_rate=rate_current())
    tx_id = None
    if with_transaction:
        from hub.channels.onchain import enqueue_hub_authorized_update

        # Recorded first so the transaction can name the exact double-signed state it executes.
        recorded = record_state(channel, prev, signed, reason=reason, args=args.to_json(),
                           originator=originator)
        tx = enqueue_hub_authorized_update(recorded.state, update_id=recorded.update.pk)
        tx_id = tx.pk
        ChannelUpdate.objects.filter(pk=recorded.update.pk).update(chain_transaction_id=tx_id)
        recorded.update.chain_transaction_id = tx_id
        return recorded.update
    return record_state(channel, prev, signed, reason=reason, args=args.to_json(),
                   originator=originator).update


def _invalidated_withdrawal(channel: Channel, prev: ChannelState) -> WithdrawalArgs | None:
    row = channel.latest_update
    if row is not None and row.reason == "ProposePendingWithdrawal":
        parsed = parse_args("ProposePendingWithdrawal", row.args)
        assert isinstance(parsed, WithdrawalArgs)
        return parsed
    return None


def _user_invalidation(channel: Channel, prev: ChannelState, raw_args: Any,
                       sig_user: Any) -> ChannelUpdate | None:
    args = parse_args("Invalidation", raw_args)
    assert isinstance(args, InvalidationArgs)
    now = ingested_block_time()
    withdrawal = _invalidated_withdrawal(channel, prev)
    expected = apply_update(prev, "Invalidation", args, now=now, invalidated_withdrawal=withdrawal)
    if not isinstance(sig_user, str):
        raise UpdateRejected("bad_signature", "missing user signature")
    signed = expected.replace(sig_user=sig_user.lower())
    # Checked before anything else happens: an unsigned or forged request cancels nothing.
    validate_signed_update(prev, signed, "Invalidation", args, hub_address=hub_address(),
                           now=now, invalidated_withdrawal=withdrawal)
    target = channel.latest_update
    if target is not None and target.chain_transaction_id is not None:
        from hub.channels.onchain import cancel_if_unsent

        if not cancel_if_unsent(target.chain_transaction_id):
            raise Conflict(errors.TRANSACTION_IN_FLIGHT,
                           "the hub's transaction for this state is already on its way")
        channel.refresh_from_db()
        if channel.latest_update_id != target.pk:
            # The cancelled transaction's completion hook invalidated the state already (a
            # hub-signed Invalidation at this txCount): that one stands; the client syncs it.
            return channel.latest_update
    row = record_state(channel, prev, signed, reason="Invalidation", args=args.to_json(),
                  originator=channel.user).update
    _mark_invalid(channel, args.invalid_tx_count, args.reason)
    return row


def _mark_invalid(channel: Channel, from_tx_count: int, reason: str) -> None:
    ChannelUpdate.objects.filter(
        channel=channel, tx_count_global__gte=from_tx_count, invalid__isnull=True,
    ).exclude(reason="Invalidation").filter(tx_count_global__lt=channel.latest_update.tx_count_global
                                            if channel.latest_update else 0).update(
        invalid=reason, invalidated_at=timezone.now())


# --- the hub's own updates --------------------------------------------------------------------

@transaction.atomic
def channel_invalidate(*, user: str, reason: str, message: str = "",
                       only_tx_count: int | None = None) -> ChannelUpdate | None:
    """A hub-signed Invalidation of the channel's pending operations (a failed hub transaction,
    or a timeout passed by block time). No-op when nothing is pending any more, or when the
    pending state is no longer the one at `only_tx_count`."""
    channel = _lock_channel(user)
    prev = channel_state(channel, user)
    if not prev.has_pending_ops:
        return None
    pending_row = ChannelUpdate.objects.filter(
        channel=channel, invalid__isnull=True, tx_count_chain=prev.tx_count_chain,
        reason__in=("ProposePendingDeposit", "ProposePendingWithdrawal"),
    ).order_by("-tx_count_global").first()
    target = pending_row.tx_count_global if pending_row else prev.tx_count_global
    if only_tx_count is not None and target != only_tx_count:
        return None
    withdrawal = None
    if pending_row is not None and pending_row.reason == "ProposePendingWithdrawal":
        withdrawal = _restoring_withdrawal_args(channel, pending_row)
    args = InvalidationArgs(invalid_tx_count=target, reason=reason, message=message or None,
                            withdrawal=withdrawal if prev.has_pending_withdrawals else None)
    new = apply_update(prev, "Invalidation", args, now=ingested_block_time(),
                       invalidated_withdrawal=withdrawal)
    row = record_state(channel, prev, new, reason="Invalidation", args=args.to_json(),
                  originator=hub_address()).update
    if pending_row is not None and target == prev.tx_count_global:
        ChannelUpdate.objects.filter(pk=pending_row.pk, invalid__isnull=True).update(
            invalid=reason, invalidated_at=timezone.now())
    return row


def _restoring_withdrawal_args(channel: Channel, pending_row: ChannelUpdate) -> WithdrawalArgs:
    """The withdrawal args to send with an Invalidation of `pending_row`.

    The client unwinds a withdrawal to `targetUser + amountSold` for the user and gives the hub
    the rest (StateGenerator._revertPendingWithdrawalAndExchange): with the original targets, a
    user who withdrew their own wei would lose it to the hub. The client regenerates the state
    from whatever args the Invalidation carries, so the hub sends targets chosen to give every
    party back exactly what they had before the withdrawal was proposed."""
    parsed = parse_args("ProposePendingWithdrawal", pending_row.args)
    assert isinstance(parsed, WithdrawalArgs)
    before_row = ChannelUpdate.objects.filter(
        channel=channel, tx_count_global=pending_row.tx_count_global - 1
    ).order_by("invalid", "-id").first()
    before = (before_row.to_state(channel.contract, channel.user) if before_row is not None
              else zero_state(channel.contract, channel.user))
    return dataclasses.replace(
        parsed,
        target_wei_user=before.balance_wei_user - parsed.wei_to_sell,
        target_token_user=before.balance_token_user - parsed.tokens_to_sell,
    )


@transaction.atomic
def channel_confirm_pending(*, event: DidUpdateChannel, transaction_hash: str,
                            chain_event_id: int | None) -> ChannelUpdate | None:
    """ConfirmPending from a DidUpdateChannel event (hub-signed; the user countersigns on sync).
    Idempotent: a second delivery of the same event finds nothing pending and does nothing."""
    user = event.user.lower()
    if event.contract_address.lower() != contract_address():
        return None
    if channel_find(user) is None:
        logger.warning("DidUpdateChannel for %s, who has no channel at this hub", user)
        return None
    channel = _lock_channel(user)
    prev = channel_state(channel, user)
    if not prev.has_pending_ops:
        already = ChannelUpdate.objects.filter(
            channel=channel, reason="ConfirmPending", args__transactionHash=transaction_hash
        ).first()
        if already is None:
            logger.warning("DidUpdateChannel for %s at txCount %s with nothing pending",
                           user, event.tx_count)
        return already
    args = {"transactionHash": transaction_hash}
    new = apply_update(prev, "ConfirmPending", args, now=0, event=event)
    return record_state(channel, prev, new, reason="ConfirmPending", args=args,
                   originator=hub_address(), chain_event_id=chain_event_id).update


def channel_sync(*, user: str, last_chan_tx: int,
                 last_thread_update_id: int | None = None) -> dict[str, Any]:
    """The client's sync feed: valid channel updates after `last_chan_tx`, ascending, merged with
    the thread updates from `last_thread_update_id` (when given), then the open unsigned
    proposal (if any) last."""
    user = user.lower()
    channel = channel_find(user)
    if channel is None:
        return {"status": "CS_OPEN", "updates": []}
    rows = ChannelUpdate.objects.filter(
        channel=channel, invalid__isnull=True, tx_count_global__gt=last_chan_tx
    ).order_by("tx_count_global")
    items = [row.to_sync_item() for row in rows]
    if last_thread_update_id is not None:
        from hub.threads.selectors import thread_sync_items

        # Merged by createdOn, OpenThread first on ties (connext-v1.md §3.5).
        merged = [(row.created_at, 0 if row.reason == "OpenThread" else 1, i, item)
                  for i, (row, item) in enumerate(zip(rows, items, strict=True))]
        merged += [(at, 1, len(merged) + j, item) for j, (at, item) in
                   enumerate(thread_sync_items(user, last_thread_update_id))]
        items = [item for *_key, item in sorted(merged, key=lambda m: m[:3])]
    proposal = ProposedUpdate.objects.filter(
        channel=channel, status=ProposedUpdate.Status.OPEN, expires_at__gt=timezone.now()
    ).first()
    if proposal is not None:
        items.append(proposal.to_sync_item())
    return {"status": STATUS_NAMES[Channel.Status(channel.status)], "updates": items}


def channel_sync_of(*, user: str, rows: list[ChannelUpdate],
                    may_have_proposal: bool = True) -> dict[str, Any]:
    """The sync shape for updates the caller has just written, plus the open proposal (looked
    up only when the caller cannot rule one out)."""
    items = [row.to_sync_item() for row in sorted(rows, key=lambda r: r.tx_count_global)]
    if not may_have_proposal:
        return {"status": "CS_OPEN", "updates": items}
    proposal = ProposedUpdate.objects.filter(
        channel__user=user.lower(), status=ProposedUpdate.Status.OPEN, expires_at__gt=timezone.now()
    ).first()
    if proposal is not None:
        items.append(proposal.to_sync_item())
    return {"status": "CS_OPEN", "updates": items}


STATUS_NAMES = {
    Channel.Status.OPEN: "CS_OPEN",
    Channel.Status.CHANNEL_DISPUTE: "CS_CHANNEL_DISPUTE",
    Channel.Status.THREAD_DISPUTE: "CS_THREAD_DISPUTE",
    Channel.Status.CHAIN_ERROR: "CS_CHAINSAW_ERROR",
}


def channels_invalidate_timed_out(*, limit: int = 100) -> int:
    """Invalidate pending states whose timeout has passed by the ingested block time (so their
    operation did not happen on-chain before it). A state with a hub transaction still in
    flight is left to the outbox (its failure invalidates it through the completion callback).
    Returns how many."""
    from hub.chain.models import ChainTransaction

    now = ingested_block_time()
    candidates = (
        ChannelUpdate.objects.filter(channel__latest_update=F("pk"), timeout__gt=0,
                                     timeout__lt=now, invalid__isnull=True)
        .select_related("channel")[:limit]
    )
    done = 0
    for row in candidates:
        tx_id = row.chain_transaction_id
        if tx_id is not None and ChainTransaction.objects.filter(
            pk=tx_id, state__in=[ChainTransaction.State.NEW, ChainTransaction.State.SUBMITTED]
        ).exists():
            continue
        try:
            if channel_invalidate(user=row.channel.user, reason="CU_INVALID_TIMEOUT",
                                  message="timed out", only_tx_count=row.tx_count_global):
                done += 1
        except (UpdateRejected, ChannelError) as exc:
            logger.info("timeout invalidation of %s skipped: %s", row.channel.user, exc)
    return done
