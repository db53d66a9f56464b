"""The collateral policy (pure): floor, ceiling, recent payers, profiles, requested targets."""

from __future__ import annotations

import pytest

from hub.collateral.policy import Bounds, Policy, Profile, bounds, keep_on_withdrawal, top_up_amount

T = 10**18
DEFAULT = Policy(floor=10 * T, ceiling=170 * T)


@pytest.mark.parametrize(
    ("payers", "expected"),
    [(0, Bounds(10 * T, 10 * T)), (1, Bounds(10 * T, 10 * T)), (3, Bounds(30 * T, 30 * T)),
     (17, Bounds(170 * T, 170 * T)), (40, Bounds(170 * T, 170 * T))],
)
def test_bounds_scale_with_distinct_recent_payers_up_to_the_ceiling(payers: int, expected: Bounds) -> None:
    assert bounds(policy=DEFAULT, recent_payers=payers) == expected


def test_a_profile_replaces_the_formula() -> None:
    assert bounds(policy=DEFAULT, recent_payers=9, profile=Profile(minimum=5 * T, target=50 * T)) == Bounds(5 * T, 50 * T)


def test_a_requested_target_raises_the_bounds_but_not_past_the_ceiling() -> None:
    assert bounds(policy=DEFAULT, recent_payers=0, requested=25 * T) == Bounds(25 * T, 25 * T)
    assert bounds(policy=DEFAULT, recent_payers=0, requested=500 * T) == Bounds(170 * T, 170 * T)


@pytest.mark.parametrize(
    ("balance", "amount"),
    [(0, 30 * T), (29 * T, T), (30 * T, 0), (100 * T, 0)],
)
def test_top_up_fills_to_the_maximum_only_below_the_minimum(balance: int, amount: int) -> None:
    assert top_up_amount(hub_balance=balance, limits=Bounds(30 * T, 30 * T)) == amount


def test_a_withdrawal_keeps_buying_power_or_the_active_maximum() -> None:
    limits = Bounds(30 * T, 30 * T)
    assert keep_on_withdrawal(hub_balance=100 * T, recent_payers=0, limits=limits, user_buying_power=5 * T) == 5 * T
    assert keep_on_withdrawal(hub_balance=100 * T, recent_payers=2, limits=limits, user_buying_power=5 * T) == 30 * T
    assert keep_on_withdrawal(hub_balance=4 * T, recent_payers=2, limits=limits, user_buying_power=5 * T) == 4 * T
