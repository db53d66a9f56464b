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
    # nothing to buy and nobody paying: the hub keeps nothing back, not even one base unit
    assert keep_on_withdrawal(hub_balance=100 * T, recent_payers=0, limits=limits, user_buying_power=0) == 0


def test_observed_inflow_sizes_the_collateral_ahead_of_need() -> None:
    from hub.collateral.policy import Inflow

    # 120 tokens paid in over the last 60 s: keep 15 s of it, top up to 60 s of it
    fast = bounds(policy=DEFAULT, recent_payers=2, inflow=Inflow(120 * T, 60), lead_seconds=15,
                  horizon_seconds=60)
    assert fast == Bounds(30 * T, 120 * T)
    # a trickle changes nothing; a flood stops at the ceiling
    assert bounds(policy=DEFAULT, recent_payers=2, inflow=Inflow(T, 60), lead_seconds=15,
                  horizon_seconds=60) == Bounds(20 * T, 20 * T)
    assert bounds(policy=DEFAULT, recent_payers=1, inflow=Inflow(10_000 * T, 60), lead_seconds=15,
                  horizon_seconds=60) == Bounds(170 * T, 170 * T)


def test_a_top_up_smaller_than_the_step_waits() -> None:
    limits = Bounds(50 * T, 50 * T)
    assert top_up_amount(hub_balance=39 * T, limits=limits, min_step=25 * T) == 0
    assert top_up_amount(hub_balance=24 * T, limits=limits, min_step=25 * T) == 26 * T
    assert top_up_amount(hub_balance=39 * T, limits=limits) == 11 * T


NO_FLOOR = Policy(floor=0, ceiling=1000)


def test_without_a_floor_payers_or_a_request_the_hub_keeps_nothing() -> None:
    """Every optional input left out adds nothing: no requested target, no lead or horizon."""
    from hub.collateral.policy import Inflow

    assert bounds(policy=NO_FLOOR, recent_payers=0) == Bounds(0, 0)
    # an inflow with neither a lead nor a horizon asked for sizes nothing
    assert bounds(policy=NO_FLOOR, recent_payers=0, inflow=Inflow(600, 60)) == Bounds(0, 0)


def test_the_smallest_inflow_counts_and_over_no_time_it_is_ignored() -> None:
    from hub.collateral.policy import Inflow

    # one base unit over one second is an inflow: 15 s of it kept, 60 s of it the target
    assert bounds(policy=NO_FLOOR, recent_payers=0, inflow=Inflow(1, 1), lead_seconds=15,
                  horizon_seconds=60) == Bounds(15, 60)
    # tokens over a window of no length say nothing about a rate (and never divide by zero)
    assert bounds(policy=NO_FLOOR, recent_payers=2, inflow=Inflow(500, 0), lead_seconds=15,
                  horizon_seconds=60) == Bounds(0, 0)
    assert bounds(policy=NO_FLOOR, recent_payers=0, inflow=Inflow(0, 60), lead_seconds=15,
                  horizon_seconds=60) == Bounds(0, 0)


def test_the_inflow_rate_is_rounded_down_to_whole_base_units() -> None:
    from hub.collateral.policy import Inflow

    # 100 units over 7 s: 14.28... per second kept, 28.57... over 2 s: whole base units only
    sized = bounds(policy=NO_FLOOR, recent_payers=0, inflow=Inflow(100, 7), lead_seconds=1,
                   horizon_seconds=2)
    assert sized == Bounds(14, 28)
    assert type(sized.minimum) is int and type(sized.maximum) is int


def test_a_lead_longer_than_the_horizon_still_tops_up_to_the_lead() -> None:
    """The lead (what arrives during a top-up) is kept even when the horizon asked is shorter:
    the maximum is never below the minimum the inflow sets."""
    from hub.collateral.policy import Inflow

    assert bounds(policy=NO_FLOOR, recent_payers=0, inflow=Inflow(60, 60), lead_seconds=30,
                  horizon_seconds=10) == Bounds(30, 30)


def test_a_top_up_of_exactly_the_step_is_made_and_never_past_the_target() -> None:
    assert top_up_amount(hub_balance=25, limits=Bounds(50, 50), min_step=25) == 25
    # a balance at or above the target is never topped up, even below a minimum set above it
    assert top_up_amount(hub_balance=40, limits=Bounds(50, 30)) == 0
    assert top_up_amount(hub_balance=30, limits=Bounds(50, 30)) == 0


def test_at_the_minimum_nothing_is_topped_up_however_far_the_target() -> None:
    assert top_up_amount(hub_balance=30, limits=Bounds(30, 50)) == 0
    assert top_up_amount(hub_balance=29, limits=Bounds(30, 50)) == 21
