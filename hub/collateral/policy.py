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


@dataclass(frozen=True)
class Inflow:
    """Tokens paid into the channel over the recent window, and the window's length (s)."""

    tokens: int
    seconds: int


def bounds(*, policy: Policy, recent_payers: int, profile: Profile | None = None,
           requested: int = 0, inflow: Inflow | None = None, lead_seconds: int = 0,
           horizon_seconds: int = 0) -> Bounds:
    """Predictive with `inflow`: the hub keeps at least `lead_seconds` of the observed inflow
    (what arrives while a top-up goes through the chain) and tops up to `horizon_seconds` of it,
    never beyond the ceiling."""
    if profile is not None:
        return Bounds(profile.minimum, profile.target)
    base = recent_payers * policy.floor
    minimum = max(policy.floor, base)
    maximum = min(policy.ceiling, max(policy.floor, base))
    if inflow is not None and inflow.tokens > 0 and inflow.seconds > 0:
        lead = min(policy.ceiling, inflow.tokens * lead_seconds // inflow.seconds)
        horizon = min(policy.ceiling, inflow.tokens * horizon_seconds // inflow.seconds)
        minimum = max(minimum, lead)
        maximum = max(maximum, horizon, lead)
    if requested:
        wanted = min(requested, policy.ceiling)
        minimum = max(minimum, wanted)
        maximum = max(maximum, wanted)
    return Bounds(min(minimum, maximum), maximum)


def top_up_amount(*, hub_balance: int, limits: Bounds, min_step: int = 0) -> int:
    """Tokens to deposit (0 = nothing to do). A top-up smaller than `min_step` waits (every
    top-up is a chain round trip and a state the user countersigns: fewer, larger ones)."""
    if hub_balance >= limits.minimum:
        return 0
    amount = max(0, limits.maximum - hub_balance)
    return amount if amount >= min_step else 0


def keep_on_withdrawal(*, hub_balance: int, recent_payers: int, limits: Bounds,
                       user_buying_power: int) -> int:
    """What the hub keeps in a channel when the user withdraws: enough for the user to buy
    tokens with their remaining wei (capped), or the policy's maximum while payments are coming
    in. Anything above is returned to the reserve in the same transaction."""
    keep = max(user_buying_power, limits.maximum if recent_payers else 0)
    return min(hub_balance, keep)
