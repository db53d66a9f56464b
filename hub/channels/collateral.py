"""Hub collateral in a user's channel: how much the hub keeps on its side so it can forward
payments to that user. (The policy grows with the payments work: recent payers, profiles.)"""

from __future__ import annotations

from django.conf import settings

from hub.channels.models import ProposedUpdate
from hub.channels.services import channel_find, channel_propose_hub_deposit, channel_state
from ops.services import alarm_raise

TOKEN = 10**18


def collateral_floor() -> int:
    return int(getattr(settings, "COLLATERAL_FLOOR_TOKENS", 10)) * TOKEN


def collateral_ceiling() -> int:
    return int(getattr(settings, "COLLATERAL_CEILING_TOKENS", 170)) * TOKEN


def channel_request_collateral(*, user: str, target: int = 0) -> ProposedUpdate | None:
    """Propose a hub token deposit that lifts the hub's balance to the target (at least the
    floor, at most the ceiling) when it is below the floor or the requested target. Nothing when
    the hub already has enough, when operations are pending, or when the reserve cannot pay."""
    state = channel_state(channel_find(user), user)
    floor = max(collateral_floor(), min(target, collateral_ceiling()))
    if state.balance_token_hub >= floor:
        return None
    amount = min(collateral_ceiling(), max(floor, collateral_floor())) - state.balance_token_hub
    if amount <= 0:
        return None
    from hub.chain.channel_manager import hub_reserves

    _wei, tokens = hub_reserves()
    if tokens < amount:
        alarm_raise(kind="low_reserve", key="token",
                    message=f"hub token reserve {tokens} cannot cover a collateral deposit of {amount}")
        return None
    return channel_propose_hub_deposit(user=user, wei=0, token=amount)
