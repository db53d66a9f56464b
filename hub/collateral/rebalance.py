"""Operator rebalancing of one channel's collateral: top it up to a target, or reclaim what the
hub holds in it. Both go through the channel services as hub proposals that the user
countersigns on their next sync; the countersigned state then carries the on-chain
`hubAuthorizedUpdate` through the transaction outbox (hub/channels/onchain.py). Nothing here
talks to the node except the reserve read that refuses a top-up the reserve cannot pay."""

from __future__ import annotations

from dataclasses import dataclass

from hub.channels.errors import ChannelError
from hub.channels.models import Channel, ProposedUpdate


@dataclass(frozen=True)
class RebalanceOutcome:
    code: str  # proposed | no_channel | not_open | busy | nothing_to_reclaim | already_enough | reserve_short
    message: str
    proposal: ProposedUpdate | None = None
    amount_wei: int = 0
    amount_token: int = 0

    @property
    def done(self) -> bool:
        return self.proposal is not None


def _channel_problem(user: str) -> RebalanceOutcome | None:
    channel = Channel.objects.filter(user=user).first()
    if channel is None:
        return RebalanceOutcome("no_channel", f"{user} has no channel at this hub")
    if channel.status != Channel.Status.OPEN:
        return RebalanceOutcome("not_open", f"{user}'s channel is {channel.status}, not open")
    return None


def collateral_reclaim(*, user: str) -> RebalanceOutcome:
    """Propose returning all the hub's collateral in `user`'s channel to the reserve (the user's
    balances stay as they are). At most one open proposal per channel, so never twice at once."""
    from hub.channels.proposals import channel_propose_hub_reclaim
    from hub.channels.records import channel_state

    user = user.lower()
    problem = _channel_problem(user)
    if problem is not None:
        return problem
    channel = Channel.objects.get(user=user)
    state = channel_state(channel, user)
    if state.balance_token_hub == 0 and state.balance_wei_hub == 0:
        return RebalanceOutcome("nothing_to_reclaim", "the hub holds nothing in this channel")
    proposal = channel_propose_hub_reclaim(user=user)
    if proposal is None:
        return RebalanceOutcome("busy", "the channel has pending operations or an open proposal; try later")
    return RebalanceOutcome("proposed", "reclaim proposed; the hub withdraws it once the user countersigns",
                            proposal, amount_wei=state.balance_wei_hub, amount_token=state.balance_token_hub)


def collateral_top_up(*, user: str, target_token: int) -> RebalanceOutcome:
    """Propose a hub deposit that brings the hub's token balance in `user`'s channel up to
    `target_token`. Refused when the hub already holds that much, when the channel is busy, or
    when the contract's reserve cannot pay it (the low-reserve alarm is raised then)."""
    from hub.chain.channel_manager import hub_reserves
    from hub.channels.proposals import channel_propose_hub_deposit
    from hub.channels.records import channel_state
    from ops.services import alarm_raise

    user = user.lower()
    problem = _channel_problem(user)
    if problem is not None:
        return problem
    state = channel_state(Channel.objects.get(user=user), user)
    amount = target_token - state.balance_token_hub
    if amount <= 0:
        return RebalanceOutcome("already_enough", f"the hub already holds {state.balance_token_hub} in this channel")
    _wei, reserve = hub_reserves()
    if reserve < amount:
        alarm_raise(kind="low_reserve", key="token", severity="critical",
                    message=f"the hub's token reserve ({reserve}) cannot cover a top-up of {amount}")
        return RebalanceOutcome("reserve_short", f"the reserve holds {reserve}, less than the {amount} needed")
    try:
        proposal = channel_propose_hub_deposit(user=user, wei=0, token=amount)
    except ChannelError as exc:
        return RebalanceOutcome("not_open", exc.message)
    if proposal is None:
        return RebalanceOutcome("busy", "the channel has pending operations or an open proposal; try later")
    return RebalanceOutcome("proposed", "top-up proposed; the hub deposits it once the user countersigns",
                            proposal, amount_token=amount)
