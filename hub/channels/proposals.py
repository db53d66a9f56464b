"""What a user asks of their channel (deposit, exchange, withdrawal) and the hub's own
proposals (collateral deposit, reclaim): hub-signed pending states or unsigned proposals the
user countersigns through the `update` route (hub/channels/updates.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from hub import push
from hub.chain.channel_manager import hub_reserves
from hub.channels import errors
from hub.channels.errors import ChannelError, Conflict
from hub.channels.models import Channel, ChannelUpdate, DepositAuthorization, ProposedUpdate
from hub.channels.records import (
    block_time,
    channel_state,
    lock_channel,
    open_proposal,
    record_state,
    require_open,
    supersede_proposals,
)
from hub.collateral.limits import limits_for, recent_payers
from hub.collateral.policy import keep_on_withdrawal
from hub.core import (
    ChannelState,
    DepositArgs,
    ExchangeArgs,
    UpdateRejected,
    WithdrawalArgs,
    apply_update,
    parse_address,
)
from hub.core.rates import calculate_exchange, token_to_wei, wei_to_token
from hub.core.state import ZERO_ADDRESS, parse_optional_sig, parse_uint
from hub.rates.services import rate_current
from ops.models import GlobalSwitches

PROPOSAL_LIFETIME = timedelta(minutes=5)


PENDING_TIMEOUT_SECONDS = 5 * 60  # user deposits and withdrawals must reach the chain in 5 min


USER_TOKEN_LIMIT = 70 * 10**18  # the "booty limit": tokens a user may buy from the hub


MIN_WITHDRAWAL_WEI = 10**13  # below this a pending field is dust (the original hub's rule)


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
    # shape-checked before it is stored (a NUL byte or an overlong string reached the database
    # and answered 500: schemathesis, tests/hub/api/test_hub_schemathesis.py)
    sig = parse_optional_sig(sig_user, "sigUser")  # refuses any other type or shape
    if sig is None:
        raise UpdateRejected("bad_signature", "sigUser is required: a 65-byte 0x-hex signature")
    channel = lock_channel(user)
    require_open(channel)
    prev = channel_state(channel, user)
    # Claimed first: the claim is rolled back with everything else if the deposit is refused.
    try:
        with transaction.atomic():
            DepositAuthorization.objects.create(
                channel=channel, signature=sig, on_tx_count=prev.tx_count_global,
                amount_wei=wei, amount_token=token)
    except IntegrityError:
        raise Conflict(errors.DEPOSIT_AUTHORIZATION_USED,
                       "this deposit request signature was already used") from None
    now = block_time()
    args = DepositArgs(deposit_wei_hub=0, deposit_wei_user=wei,
                       deposit_token_hub=exchange_collateral_for_deposit(prev, wei),
                       deposit_token_user=token, timeout=now + PENDING_TIMEOUT_SECONDS,
                       sig_user=sig)
    new = apply_update(prev, "ProposePendingDeposit", args, now=now)
    supersede_proposals(channel)
    return record_state(channel, prev, new, reason="ProposePendingDeposit", args=args.to_json(),
                   originator=user).update


class ExchangeNeedsCollateral(Conflict):
    """The hub holds too little in the channel to take the other side of an exchange. The caller
    (hub/collateral/services.py: exchange_request) asks for a top-up after the refusal."""

    def __init__(self, *, tokens: int, wei_short: bool) -> None:
        super().__init__(errors.INSUFFICIENT_COLLATERAL,
                         "the hub has too little in this channel to cover the exchange yet; "
                         "a collateral top-up was requested: ask again once it is confirmed")
        self.tokens, self.wei_short = tokens, wei_short


def exchange_collateral_for_deposit(prev: ChannelState, deposit_wei: int) -> int:
    """The hub's token deposit that rides along with a user's ETH deposit so that the user can
    exchange it at once (the original hub's deposit-time matching): the token value of the
    deposited wei at the hub's rate, less what the hub already holds in the channel, capped per
    channel (DEPOSIT_EXCHANGE_CAP_TOKENS), by the user token limit and by the hub's reserve.
    0 when there is no wei, no fresh rate or no reserve."""
    if deposit_wei == 0:
        return 0
    rate = rate_current()
    if rate is None:
        return 0
    cap = settings.DEPOSIT_EXCHANGE_CAP_TOKENS * 10**18
    wanted = min(wei_to_token(deposit_wei, rate.rate), cap,
                 max(0, USER_TOKEN_LIMIT - prev.balance_token_user))
    amount = wanted - prev.balance_token_hub
    if amount <= 0:
        return 0
    _wei, reserve_tokens = hub_reserves()
    return max(0, min(amount, reserve_tokens - tokens_in_flight()))


def tokens_in_flight() -> int:
    """Hub token deposits promised but not yet in a channel (pending on chain or in the user's
    hands): what the reserve already owes."""
    total = (ChannelUpdate.objects.filter(channel__latest_update=F("pk"), invalid__isnull=True,
                                          pending_deposit_token_hub__gt=0)
             .aggregate(n=Sum("pending_deposit_token_hub"))["n"])
    return int(total or 0)


def _propose(channel: Channel, prev: ChannelState, reason: str, args: Any,
             lifetime: timedelta = PROPOSAL_LIFETIME) -> ProposedUpdate:
    """Store an unsigned hub proposal (one open per channel), validated by the core first."""
    now = block_time()
    new = apply_update(prev, reason, args, now=now, hub_rate=rate_current())
    supersede_proposals(channel)
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
def channel_request_exchange(*, user: str, wei_to_sell: Any, tokens_to_sell: Any) -> ProposedUpdate:
    """An unsigned Exchange proposal at the hub's rate, capped by the hub's balances and the
    user token limit. Never a silent nothing: `nothing_to_exchange` (400) when the user has
    nothing to sell, `collateral_on_its_way` (409) while the hub's deposit is pending on chain,
    `insufficient_collateral` (409, ExchangeNeedsCollateral) when the hub holds too little."""
    wei = parse_uint(wei_to_sell, "weiToSell")
    tokens = parse_uint(tokens_to_sell, "tokensToSell")
    if wei and tokens:
        raise UpdateRejected("bad_args", "sell wei or tokens, not both")
    rate = rate_current()
    if rate is None:
        raise UpdateRejected("rate_unavailable", "the hub has no exchange rate younger than 24 h")
    channel = lock_channel(user)
    require_open(channel)
    prev = channel_state(channel, user)
    if wei == 0 and tokens == 0:
        raise ChannelError(errors.NOTHING_TO_EXCHANGE, "an exchange needs weiToSell or tokensToSell")
    if (wei and prev.balance_wei_user == 0) or (tokens and prev.balance_token_user == 0):
        raise ChannelError(errors.NOTHING_TO_EXCHANGE, "the channel holds nothing of what is sold")
    asked_wei, asked_tokens = wei, tokens
    if wei:
        token_cap = min(prev.balance_token_hub, max(0, USER_TOKEN_LIMIT - prev.balance_token_user))
        wei = min(wei, prev.balance_wei_user, token_to_wei(token_cap, rate.rate))
    if tokens:
        tokens = min(tokens, prev.balance_token_user, wei_to_token(prev.balance_wei_hub, rate.rate))
    amounts = calculate_exchange(seller="user", rate=rate.rate, wei_to_sell=wei, tokens_to_sell=tokens)
    if amounts.tokens_received == 0 and amounts.wei_received == 0:
        if asked_wei and prev.balance_token_user >= USER_TOKEN_LIMIT:
            raise ChannelError(errors.NOTHING_TO_EXCHANGE,
                                 "the channel already holds the most tokens a user may buy")
        if prev.pending_deposit_token_hub or prev.pending_deposit_wei_hub:
            raise Conflict(errors.COLLATERAL_ON_ITS_WAY,
                           "the hub's deposit into this channel is on its way on chain; "
                           "ask again once it is confirmed")
        needed = wei_to_token(min(asked_wei, prev.balance_wei_user), rate.rate) if asked_wei else 0
        raise ExchangeNeedsCollateral(tokens=min(needed, USER_TOKEN_LIMIT), wei_short=bool(asked_tokens))
    args = ExchangeArgs(seller="user", exchange_rate=rate.rate, wei_to_sell=wei, tokens_to_sell=tokens)
    return _propose(channel, prev, "Exchange", args)


@transaction.atomic
def channel_request_withdrawal(*, user: str, params: Mapping[str, Any]) -> ProposedUpdate | None:
    """An unsigned ProposePendingWithdrawal: sell `tokensToSell` (or `weiToSell`) at the client's
    rate (within 2 % of the hub's), then withdraw `withdrawalWeiUser` plus the proceeds and
    `withdrawalTokenUser` to `recipient`. The hub covers its side of the exchange from reserves
    when its channel balance is short. Timeout: 5 minutes of block time."""

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
    channel = lock_channel(user)
    require_open(channel)
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
    buying_power = min(wei_to_token(user_wei_left, rate), USER_TOKEN_LIMIT)
    return keep_on_withdrawal(hub_balance=hub_tokens, recent_payers=recent_payers(user),
                              limits=limits_for(user), user_buying_power=buying_power)


@transaction.atomic
def channel_propose_hub_reclaim(*, user: str) -> ProposedUpdate | None:
    """An unsigned withdrawal that returns all the hub's collateral in an idle channel to the
    reserve and leaves the user's balances untouched. None when there is nothing to reclaim or
    the channel is busy."""
    channel = lock_channel(user)
    if channel.status != Channel.Status.OPEN:
        return None
    prev = channel_state(channel, user)
    if (prev.has_pending_ops or prev.timeout != 0 or open_proposal(channel) is not None
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
    channel = lock_channel(user)
    require_open(channel)
    prev = channel_state(channel, user)
    if prev.has_pending_ops or prev.timeout != 0 or open_proposal(channel) is not None:
        return None
    args = DepositArgs(deposit_wei_hub=wei, deposit_wei_user=0, deposit_token_hub=token,
                       deposit_token_user=0, timeout=0)
    return _propose(channel, prev, "ProposePendingDeposit", args, lifetime=timedelta(minutes=10))
