"""Collateral: top-ups from the hub's reserve into users' channels, reclaiming excess, and the
reserve alarm.

A top-up is a hub deposit proposal (ProposePendingDeposit, timeout 0) that the user countersigns
on sync; the hub then sends `hubAuthorizedUpdate`. At most one open proposal per channel (a
database constraint) and none on top of pending operations: a top-up never runs twice for the
same need."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, F

from hub.chain.channel_manager import hub_reserves
from hub.chain.client import get_web3
from hub.chain.signer import hub_address
from hub.channels.models import Channel, ChannelUpdate, ProposedUpdate
from hub.channels.proposals import (
    ExchangeNeedsCollateral,
    channel_propose_hub_deposit,
    channel_propose_hub_reclaim,
    channel_request_exchange,
)
from hub.channels.records import channel_find, channel_state
from hub.collateral.limits import limits_for
from hub.collateral.policy import top_up_amount
from hub.purchases.models import Payment
from ops import clock
from ops.services import alarm_raise

logger = logging.getLogger(__name__)


def collateral_request(*, user: str, target: int = 0) -> ProposedUpdate | None:
    """Propose a top-up when the policy says the hub holds too little in `user`'s channel.
    Nothing when enough is there, when operations are pending, when a proposal is already open,
    or when the reserve cannot pay (then the low-reserve alarm is raised)."""
    state = channel_state(channel_find(user), user)
    limits = limits_for(user, requested=target)
    # Above the floor (a check as payments draw the balance down, hub/purchases/services.py:
    # _after_commit) a top-up waits until it would bring at least half the target.
    above_floor = state.balance_token_hub >= settings.COLLATERAL_FLOOR_TOKENS * 10**18
    amount = top_up_amount(hub_balance=state.balance_token_hub, limits=limits,
                           min_step=limits.maximum // 2 if above_floor and not target else 0)
    if amount <= 0 or state.has_pending_ops:
        return None
    _wei, tokens = hub_reserves()
    if tokens < amount:
        alarm_raise(kind="low_reserve", key="token", severity="critical",
                    message=f"the hub's token reserve ({tokens}) cannot cover a top-up of {amount}")
        return None
    return channel_propose_hub_deposit(user=user, wei=0, token=amount)


def exchange_request(*, user: str, wei_to_sell: object, tokens_to_sell: object) -> ProposedUpdate:
    """A user's exchange request; when the hub holds too little in the channel to cover it, the
    refusal (409 insufficient_collateral) comes with a top-up proposal for the tokens it needs
    (made after the refused request rolled back)."""
    try:
        return channel_request_exchange(user=user, wei_to_sell=wei_to_sell, tokens_to_sell=tokens_to_sell)
    except ExchangeNeedsCollateral as short:
        if short.tokens:
            collateral_request(user=user, target=short.tokens)
        raise


def collateralize_frequent_recipients(*, limit: int = 50) -> int:
    """Top up, ahead of time, recipients that several payers paid recently. Returns proposals."""
    since = clock.now() - timedelta(seconds=settings.COLLATERAL_WINDOW_SECONDS)
    busy = (Payment.objects.filter(created_at__gte=since, type__in=["PT_CHANNEL", "PT_OPTIMISTIC"])
            .values("recipient").annotate(payers=Count("sender", distinct=True))
            .filter(payers__gte=2).order_by("-payers").values_list("recipient", flat=True)[:limit])
    made = 0
    for user in busy:
        if Channel.objects.filter(user=user).exists() and collateral_request(user=user):
            made += 1
    return made


def reclaim_idle_collateral(*, limit: int = 20) -> int:
    """Propose returning the hub's collateral from channels idle longer than the configured time
    (the user countersigns on their next sync; the hub then withdraws it to the reserve)."""
    idle_since = clock.now() - timedelta(seconds=settings.COLLATERAL_IDLE_RECLAIM_SECONDS)
    rows = (ChannelUpdate.objects.filter(channel__latest_update=F("pk"), created_at__lt=idle_since,
                                         balance_token_hub__gt=0, invalid__isnull=True,
                                         channel__status=Channel.Status.OPEN)
            .select_related("channel")[:limit])
    made = 0
    for row in rows:
        if row.timeout == 0 and channel_propose_hub_reclaim(user=row.channel.user):
            made += 1
    return made


def reserve_check() -> tuple[int, int]:
    """Raise the low-reserve alarm when the contract's hub reserve is below the thresholds."""
    wei, tokens = hub_reserves()
    if wei < settings.RESERVE_ALARM_WEI:
        alarm_raise(kind="low_reserve", key="wei", severity="critical",
                    message=f"hub ETH reserve {wei} wei is below {settings.RESERVE_ALARM_WEI}")
    if tokens < settings.RESERVE_ALARM_TOKENS:
        alarm_raise(kind="low_reserve", key="token", severity="critical",
                    message=f"hub token reserve {tokens} is below {settings.RESERVE_ALARM_TOKENS}")
    _check_hot_wallet()
    return wei, tokens


def _check_hot_wallet() -> None:
    """The hub's own account pays gas and on-chain payouts (settlements, custodial withdrawals,
    link claims); an operator refills it from the reserve (hubContractWithdraw) or outside."""
    w3 = get_web3()
    address = w3.to_checksum_address(hub_address())
    eth = w3.eth.get_balance(address)
    if eth < settings.HOT_WALLET_ALARM_WEI:
        alarm_raise(kind="low_hot_wallet", key="wei", severity="critical",
                    message=f"the hub account holds {eth} wei, below {settings.HOT_WALLET_ALARM_WEI}")
    if settings.TOKEN_ADDRESS:
        token = w3.eth.contract(address=w3.to_checksum_address(settings.TOKEN_ADDRESS), abi=[
            {"name": "balanceOf", "type": "function", "stateMutability": "view",
             "inputs": [{"name": "a", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]}])
        tokens = token.functions.balanceOf(address).call()
        if tokens < settings.HOT_WALLET_ALARM_TOKENS:
            alarm_raise(kind="low_hot_wallet", key="token",
                        message=f"the hub account holds {tokens} token units, below "
                                f"{settings.HOT_WALLET_ALARM_TOKENS}")
