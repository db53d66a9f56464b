"""How much collateral a user's channel should hold: the configured policy, the user's profile
and how many payers paid them recently (read by top-ups and by withdrawals alike)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Sum

from hub.collateral.models import CollateralAssignment
from hub.collateral.policy import Bounds, Inflow, Policy, Profile, bounds
from hub.purchases.models import Payment
from ops import clock

TOKEN = 10**18


def policy() -> Policy:
    return Policy(floor=settings.COLLATERAL_FLOOR_TOKENS * TOKEN,
                  ceiling=settings.COLLATERAL_CEILING_TOKENS * TOKEN)


def profile_for(user: str) -> Profile | None:
    assignment = CollateralAssignment.objects.select_related("profile").filter(user=user.lower()).first()
    if assignment is None:
        return None
    p = assignment.profile
    return Profile(minimum=p.minimum_maintained_token, target=p.amount_to_collateralize_token)


def recent_payers(user: str, *, now: datetime | None = None) -> int:
    """Distinct payers of channel-bound payments to `user` in the recent window."""
    since = (now or clock.now()) - timedelta(seconds=settings.COLLATERAL_WINDOW_SECONDS)
    return (Payment.objects.filter(recipient=user.lower(), created_at__gte=since,
                                   type__in=["PT_CHANNEL", "PT_OPTIMISTIC"])
            .values("sender").distinct().count())


def recent_inflow(user: str, *, now: datetime | None = None) -> Inflow:
    """Tokens paid to `user` in channel-bound payments over the last COLLATERAL_INFLOW_SECONDS."""
    seconds = settings.COLLATERAL_INFLOW_SECONDS
    since = (now or clock.now()) - timedelta(seconds=seconds)
    total = (Payment.objects.filter(recipient=user.lower(), created_at__gte=since,
                                    type__in=["PT_CHANNEL", "PT_OPTIMISTIC"])
             .aggregate(t=Sum("amount_token"))["t"])
    return Inflow(tokens=int(total or 0), seconds=seconds)


def limits_for(user: str, *, requested: int = 0) -> Bounds:
    return bounds(policy=policy(), recent_payers=recent_payers(user), profile=profile_for(user),
                  requested=requested, inflow=recent_inflow(user),
                  lead_seconds=settings.COLLATERAL_LEAD_SECONDS,
                  horizon_seconds=settings.COLLATERAL_HORIZON_SECONDS)
