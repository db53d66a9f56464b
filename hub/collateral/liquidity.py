"""Collateral liquidity, read-only: how much the hub has locked in channels, what sits idle, what
the policy calls for now, which channels are reclaim candidates, and how long the hub takes to
put collateral in place (time-to-collateral) — for the operator's admin page and, per address,
for a merchant's "can receive instantly" figures.

Terms (token and wei, base units):
- locked: the hub's balance in a channel's latest valid state (what the hub can pay into it
  now without touching the chain);
- idle: locked in channels with no new state for COLLATERAL_IDLE_RECLAIM_SECONDS;
- needed: the top-up the policy calls for in channels paid by someone in the recent window
  (channels nobody pays need nothing until a payment or a request asks);
- in flight: top-ups proposed or on their way on chain (open proposals, pending hub deposits);
- time-to-collateral: from the hub's top-up proposal to the ConfirmPending state that puts the
  deposit in the channel, over the top-ups that completed.

Reads only: no locks, no writes, no chain calls."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from hub.channels.models import Channel, ChannelUpdate, ProposedUpdate
from hub.collateral.models import CollateralAssignment
from hub.collateral.policy import Bounds, Profile, bounds, top_up_amount

TOP_UP = "ProposePendingDeposit"  # hub proposals of this reason are collateral top-ups
PERCENTILES = (50, 90, 99)
HISTORY_DAYS = 7

_LATEST = Q(channel__latest_update=F("pk"))
_NO_PENDING = Q(
    pending_deposit_wei_hub=0, pending_deposit_wei_user=0, pending_deposit_token_hub=0,
    pending_deposit_token_user=0, pending_withdrawal_wei_hub=0, pending_withdrawal_wei_user=0,
    pending_withdrawal_token_hub=0, pending_withdrawal_token_user=0,
)


def percentile(sorted_values: Sequence[int], pct: int) -> int | None:
    """Nearest-rank percentile of already sorted values (None when there are none)."""
    if not sorted_values:
        return None
    rank = max(1, -(-pct * len(sorted_values) // 100))  # ceil(pct/100 * n)
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _idle_since(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.COLLATERAL_IDLE_RECLAIM_SECONDS)


def _latest_states() -> QuerySet[ChannelUpdate]:
    return ChannelUpdate.objects.filter(_LATEST, invalid__isnull=True)


def recent_payers_by_recipient(*, now: datetime | None = None,
                               recipients: Iterable[str] | None = None) -> dict[str, int]:
    """{recipient: distinct payers of channel-bound payments in the collateral window}, one query
    (the policy's `recent_payers`, for many channels at once)."""
    from hub.purchases.models import Payment

    since = (now or timezone.now()) - timedelta(seconds=settings.COLLATERAL_WINDOW_SECONDS)
    rows = Payment.objects.filter(created_at__gte=since, type__in=["PT_CHANNEL", "PT_OPTIMISTIC"])
    if recipients is not None:
        rows = rows.filter(recipient__in=[r.lower() for r in recipients])
    return {r["recipient"]: r["payers"] for r in
            rows.values("recipient").annotate(payers=Count("sender", distinct=True))}


def _profiles(users: Iterable[str]) -> dict[str, Profile]:
    return {a.user: Profile(minimum=a.profile.minimum_maintained_token, target=a.profile.amount_to_collateralize_token)
            for a in CollateralAssignment.objects.select_related("profile").filter(user__in=list(users))}


def _limits(user: str, payers: dict[str, int], profiles: dict[str, Profile]) -> Bounds:
    from hub.collateral.limits import policy

    return bounds(policy=policy(), recent_payers=payers.get(user, 0), profile=profiles.get(user))


def _open_top_ups(users: Iterable[str] | None = None) -> dict[str, dict[str, int]]:
    """{user: {"wei": n, "token": n}} of top-up proposals still waiting for the user's signature."""
    rows = ProposedUpdate.objects.filter(status=ProposedUpdate.Status.OPEN, reason=TOP_UP,
                                         expires_at__gt=timezone.now()).select_related("channel")
    if users is not None:
        rows = rows.filter(channel__user__in=list(users))
    found: dict[str, dict[str, int]] = {}
    for p in rows:
        mine = found.setdefault(p.channel.user, {"wei": 0, "token": 0})
        mine["wei"] += int(p.args.get("depositWeiHub", 0))
        mine["token"] += int(p.args.get("depositTokenHub", 0))
    return found


@dataclass(frozen=True)
class ChannelLiquidity:
    channel_id: int
    user: str
    status: str
    hub_wei: int
    hub_token: int
    in_flight_wei: int  # hub deposits pending on chain plus open top-up proposals
    in_flight_token: int
    last_activity: datetime
    idle: bool
    recent_payers: int
    minimum_token: int
    maximum_token: int
    needed_token: int
    excess_token: int
    busy: bool  # pending operations or a timeout: no proposal can be made now
    has_open_proposal: bool

    @property
    def reclaimable(self) -> bool:
        return (self.idle and self.status == Channel.Status.OPEN and not self.busy
                and not self.has_open_proposal and (self.hub_token > 0 or self.hub_wei > 0))


def _rows_for(states: Iterable[ChannelUpdate], *, now: datetime) -> list[ChannelLiquidity]:
    states = list(states)
    users = [s.channel.user for s in states]
    payers = recent_payers_by_recipient(now=now, recipients=users)
    profiles = _profiles(users)
    proposals = _open_top_ups(users)
    open_any = set(ProposedUpdate.objects.filter(status=ProposedUpdate.Status.OPEN, expires_at__gt=now,
                                                 channel__user__in=users).values_list("channel__user", flat=True))
    idle_since = _idle_since(now)
    out = []
    for s in states:
        user = s.channel.user
        limits = _limits(user, payers, profiles)
        proposed = proposals.get(user, {"wei": 0, "token": 0})
        busy = s.timeout != 0 or any(getattr(s, f) for f in (
            "pending_deposit_wei_hub", "pending_deposit_wei_user", "pending_deposit_token_hub",
            "pending_deposit_token_user", "pending_withdrawal_wei_hub", "pending_withdrawal_wei_user",
            "pending_withdrawal_token_hub", "pending_withdrawal_token_user"))
        in_flight_token = s.pending_deposit_token_hub + proposed["token"]
        needed = 0
        if payers.get(user, 0) or user in profiles:
            needed = max(0, top_up_amount(hub_balance=s.balance_token_hub + in_flight_token, limits=limits))
        out.append(ChannelLiquidity(
            channel_id=s.channel_id, user=user, status=s.channel.status,
            hub_wei=s.balance_wei_hub, hub_token=s.balance_token_hub,
            in_flight_wei=s.pending_deposit_wei_hub + proposed["wei"], in_flight_token=in_flight_token,
            last_activity=s.created_at, idle=s.created_at < idle_since, recent_payers=payers.get(user, 0),
            minimum_token=limits.minimum, maximum_token=limits.maximum, needed_token=needed,
            excess_token=max(0, s.balance_token_hub - limits.maximum), busy=busy,
            has_open_proposal=user in open_any,
        ))
    return out


def channels_liquidity(users: Iterable[str], *, now: datetime | None = None) -> dict[str, ChannelLiquidity]:
    """{user: figures} for the channels of `users` (users without a channel are left out)."""
    wanted = [u.lower() for u in users]
    states = _latest_states().filter(channel__user__in=wanted).select_related("channel")
    return {row.user: row for row in _rows_for(states, now=now or timezone.now())}


def liquidity_overview(*, limit: int = 50, now: datetime | None = None) -> dict[str, Any]:
    """The operator's page: totals per asset over every channel, and the channels worth a look
    (those needing collateral, the reclaim candidates, the largest holders), at most `limit` each."""
    now = now or timezone.now()
    latest = _latest_states()
    idle_since = _idle_since(now)

    def sums(rows: QuerySet[ChannelUpdate]) -> dict[str, int]:
        agg = rows.aggregate(wei=Sum("balance_wei_hub"), token=Sum("balance_token_hub"),
                             pwei=Sum("pending_deposit_wei_hub"), ptoken=Sum("pending_deposit_token_hub"),
                             channels=Count("id"))
        return {k: int(v or 0) for k, v in agg.items()}

    everything = sums(latest)
    idle = sums(latest.filter(created_at__lt=idle_since))
    proposals = _open_top_ups()
    payers = recent_payers_by_recipient(now=now)
    profiled = set(CollateralAssignment.objects.values_list("user", flat=True))
    active_users = set(payers) | profiled
    active = _rows_for(latest.filter(channel__user__in=active_users).select_related("channel"), now=now)
    needing = sorted((r for r in active if r.needed_token > 0), key=lambda r: -r.needed_token)
    candidates = _rows_for(
        latest.filter(_NO_PENDING, created_at__lt=idle_since, timeout=0, channel__status=Channel.Status.OPEN)
        .filter(Q(balance_token_hub__gt=0) | Q(balance_wei_hub__gt=0))
        .select_related("channel").order_by("-balance_token_hub", "-balance_wei_hub")[:limit], now=now)
    largest = _rows_for(latest.select_related("channel").order_by("-balance_token_hub", "-balance_wei_hub")[:limit],
                        now=now)
    return {
        "totals": {
            "channels": everything["channels"],
            "locked": {"wei": everything["wei"], "token": everything["token"]},
            "idle": {"wei": idle["wei"], "token": idle["token"], "channels": idle["channels"]},
            "needed": {"wei": 0, "token": sum(r.needed_token for r in needing), "channels": len(needing)},
            "in_flight": {"wei": everything["pwei"] + sum(p["wei"] for p in proposals.values()),
                          "token": everything["ptoken"] + sum(p["token"] for p in proposals.values())},
        },
        "needing": needing[:limit],
        "reclaim_candidates": [r for r in candidates if r.reclaimable],
        "largest": largest,
        "time_to_collateral": time_to_collateral(now=now),
        "idle_after_seconds": settings.COLLATERAL_IDLE_RECLAIM_SECONDS,
    }


# --- time-to-collateral ------------------------------------------------------------------------

@dataclass(frozen=True)
class TopUp:
    user: str
    asset: str
    amount: int
    requested_at: datetime
    state: str  # waiting_for_signature | on_chain | confirmed | failed | not_signed
    confirmed_at: datetime | None

    @property
    def seconds(self) -> int | None:
        if self.confirmed_at is None:
            return None
        return max(0, int((self.confirmed_at - self.requested_at).total_seconds()))


def _top_ups(*, users: Iterable[str] | None, since: datetime, limit: int | None) -> list[TopUp]:
    confirm = (ChannelUpdate.objects.filter(channel=OuterRef("channel"), reason="ConfirmPending",
                                            invalid__isnull=True,
                                            tx_count_global__gt=OuterRef("accepted_update__tx_count_global"))
               .order_by("tx_count_global").values("created_at")[:1])
    rows = (ProposedUpdate.objects.filter(reason=TOP_UP, created_at__gte=since)
            .select_related("channel", "accepted_update").annotate(confirmed_at=Subquery(confirm))
            .order_by("-created_at", "-id"))
    if users is not None:
        rows = rows.filter(channel__user__in=[u.lower() for u in users])
    if limit is not None:
        rows = rows[:limit]
    now = timezone.now()
    out = []
    for p in rows:
        confirmed_at = p.confirmed_at
        if p.status == ProposedUpdate.Status.ACCEPTED:
            if confirmed_at is not None:
                state = "confirmed"
            elif p.accepted_update is not None and p.accepted_update.invalid:
                state = "failed"
            else:
                state = "on_chain"
        elif p.status == ProposedUpdate.Status.OPEN and p.expires_at > now:
            state = "waiting_for_signature"
        else:
            state = "not_signed"
        for asset, key in (("token", "depositTokenHub"), ("wei", "depositWeiHub")):
            amount = int(p.args.get(key, 0))
            if amount:
                out.append(TopUp(user=p.channel.user, asset=asset, amount=amount, requested_at=p.created_at,
                                 state=state, confirmed_at=confirmed_at if state == "confirmed" else None))
    return out


def time_to_collateral(*, users: Iterable[str] | None = None, now: datetime | None = None,
                       days: int = HISTORY_DAYS) -> dict[str, Any]:
    """Percentiles (seconds) of proposal-to-confirmation over the top-ups of the last `days`,
    with how many completed and how many did not (yet)."""
    since = (now or timezone.now()) - timedelta(days=days)
    top_ups = _top_ups(users=users, since=since, limit=None)
    seen: dict[tuple[str, datetime], TopUp] = {}
    for t in top_ups:  # one proposal may top up both assets: count it once
        seen.setdefault((t.user, t.requested_at), t)
    durations = sorted(t.seconds for t in seen.values() if t.seconds is not None)
    states: dict[str, int] = {}
    for t in seen.values():
        states[t.state] = states.get(t.state, 0) + 1
    return {
        "window_days": days,
        "top_ups": len(seen),
        "confirmed": len(durations),
        "by_state": states,
        "seconds": {f"p{p}": percentile(durations, p) for p in PERCENTILES},
    }


def recent_top_ups(users: Iterable[str], *, limit: int = 20, days: int = HISTORY_DAYS) -> list[TopUp]:
    return _top_ups(users=list(users), since=timezone.now() - timedelta(days=days), limit=limit)
