"""Reads of links for the APIs, the public page and the dashboard."""

from __future__ import annotations

from django.db.models import QuerySet

from hub.ledger.models import LedgerEntry
from linkpay.models import Link


def links_for_merchant(merchant_id: int, *, status: str | None = None) -> QuerySet[Link]:
    rows = Link.objects.filter(merchant_id=merchant_id)
    return rows.filter(status=status) if status else rows


def links_for_sender(sender: str) -> QuerySet[Link]:
    return Link.objects.filter(sender=sender.lower()).order_by("-id")


def link_public(public_id: str) -> Link | None:
    return Link.objects.select_related("merchant", "chain_transaction").filter(public_id=public_id).first()


def link_held_total(asset: str) -> int:
    """What the ledger holds for links (sum of `link:*`), for reconciliation with open links."""
    from django.db.models import Sum

    total = LedgerEntry.objects.filter(account__startswith="link:", asset=asset).aggregate(t=Sum("amount"))["t"]
    return int(total or 0)


def link_open_total(asset: str) -> int:
    from django.db.models import Sum

    total = Link.objects.filter(status__in=Link.OPEN_STATES, asset=asset).aggregate(t=Sum("amount"))["t"]
    return int(total or 0)
