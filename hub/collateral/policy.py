"""The collateral policy, pure: how much token collateral the hub should hold in a channel.

Defaults follow the original Connext hub: a floor of 10 and a ceiling of 170 tokens,
scaled by the number of distinct payers in the recent window; an operator profile replaces the
formula for its users."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    floor: int
    ceiling: int


@dataclass(frozen=True)
class Profile:
    minimum: int
    target: int


@dataclass(frozen=True)
class Bounds:
    minimum: int  # top up when the hub holds less than this
    maximum: int  # top up to this; more than this is excess


def bounds(*, policy: Policy, recent_payers: int, profile: Profile | None = None,
           requested: int = 0) -> Bounds:
    if profile is not None:
        return Bounds(profile.minimum, profile.target)
    base = recent_payers * policy.floor
    minimum = max(policy.floor, base)
    maximum = min(policy.ceiling, max(policy.floor, base))
    if requested:
        wanted = min(requested, policy.ceiling)
        minimum = max(minimum, wanted)
        maximum = max(maximum, wanted)
    return Bounds(min(minimum, maximum), maximum)


def top_up_amount(*, hub_balance: int, limits: Bounds) -> int:
    """Tokens to deposit (0 = nothing to do)."""
    if hub_balance >= limits.minimum:
        return 0
    return max(0, limits.maximum - hub_balance)


def keep_on_withdrawal(*, hub_balance: int, recent_payers: int, limits: Bounds,
                       user_buying_power: int) -> int:
    """What the hub keeps in a channel when the user withdraws: enough for the user to buy
    tokens with their remaining wei (capped), or the policy's maximum while payments are coming
    in. Anything above is returned to the reserve in the same transaction."""
    keep = max(user_buying_power, limits.maximum if recent_payers else 0)
    return min(hub_balance, keep)
