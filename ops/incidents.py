"""Open alarms as the public may see them (the status page): what kind of trouble, how bad,
since when. Never an alarm's message, key or detail, and never its id: those name channels,
transactions, addresses and amounts, and the public page must not hand out internal ids."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Min

from ops.models import Alarm

# One public sentence per alarm kind; a kind not listed shows as a generic operational issue.
PUBLIC_TITLES = {
    "low_reserve": "The hub's reserve is below its safety threshold; collateral top-ups may be slow",
    "low_hot_wallet": "The hub's transaction account is low on funds; on-chain payouts may be delayed",
    "hub_funds": "The hub cannot pay for an on-chain transaction; payouts are delayed",
    "rate_feed": "The exchange-rate feed is stale; exchanges may be refused",
    "reconciliation": "A reconciliation check found a difference under investigation",
    "reorg": "A chain reorganisation was detected; confirmations may be delayed",
    "tx_reorged": "A confirmed hub transaction left the chain in a reorganisation and is being resent",
    "tx_fee_cap": "Network fees are above the hub's cap; an on-chain transaction is waiting",
    "event_handler": "Processing of a chain event is failing; deposits may be credited late",
    "timeouts_held": "A stuck chain event is holding back the expiry of pending channel operations",
    "process_restarted": "A platform process restarted",
    "dispute_answer_late": "An on-chain dispute answer is late",
    "dispute_answer_retried": "An on-chain dispute answer is being retried",
    "dispute_lost": "An on-chain dispute needs operator attention",
    "dispute_start_failed": "An on-chain dispute could not be started",
    "thread_dispute_root": "A thread dispute needs operator attention",
    "thread_settle_unknown_state": "A thread dispute needs operator attention",
    "thread_settled_older": "A thread dispute needs operator attention",
    "reserves_below_liabilities": "The hub's reserves are below its committed liabilities for an asset",
    "negative_liability": "A liabilities commitment found an inconsistent balance under investigation",
}
GENERIC_TITLE = "An operational issue is under investigation"
# Alarms about one customer's money that the operator settles by hand, not trouble with the
# platform: they stay in the admin and never show on the public page (an on-chain checkout payment
# that names no invoice of ours is one payer's mistake, not an outage).
NOT_PUBLIC = {"checkout_unmatched"}
SEVERITY_ORDER = {Alarm.Severity.CRITICAL: 0, Alarm.Severity.WARNING: 1}


def public_incidents(*, limit: int = 20) -> list[dict[str, Any]]:
    """Open (unacknowledged) alarms grouped by kind and severity, most severe then newest first:
    `{kind, title, severity, count, since, last_seen}` with datetimes. A kind the public titles
    do not know (an operator's own, from `raise_alarm`) shows as `other`: its name was typed by
    a person and is not for the public."""
    rows = (Alarm.objects.filter(acknowledged_at__isnull=True).exclude(kind__in=NOT_PUBLIC)
            .values("kind", "severity")
            .annotate(count=Count("id"), since=Min("raised_at"), last_seen=Max("last_seen_at")))
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        kind = row["kind"] if row["kind"] in PUBLIC_TITLES else "other"
        found = grouped.get((kind, row["severity"]))
        if found is None:
            grouped[(kind, row["severity"])] = {
                "kind": kind, "title": PUBLIC_TITLES.get(kind, GENERIC_TITLE),
                "severity": row["severity"], "count": row["count"], "since": row["since"],
                "last_seen": row["last_seen"]}
        else:
            found["count"] += row["count"]
            found["since"] = min(found["since"], row["since"])
            found["last_seen"] = max(found["last_seen"], row["last_seen"])
    incidents = sorted(grouped.values(), key=lambda i: (SEVERITY_ORDER.get(i["severity"], 2),
                                                         -i["last_seen"].timestamp()))
    return incidents[:limit]
