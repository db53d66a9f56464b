"""The operator admin's liquidity page (/admin/liquidity/): collateral locked, idle and needed per
channel and in total, reclaim candidates, time-to-collateral percentiles, and the rebalancing
actions (reclaim, top up) that go through the hub's collateral services. Every rebalancing POST
writes its own audit row, in the same transaction as the proposal it made (or refused)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from hub.collateral.liquidity import ChannelLiquidity, liquidity_overview
from payments.audit.models import AuditLog
from payments.audit.services import audit_record
from payments.dashboard.money import Money, parse_human
from payments.errors import PaymentsError
from payments.merchants.services import normalize_address

ACTIONS = ("reclaim", "top_up")


def _row(r: ChannelLiquidity) -> dict[str, Any]:
    return {"r": r, "hub_token": Money(r.hub_token, "token"), "hub_wei": Money(r.hub_wei, "wei"),
            "needed": Money(r.needed_token, "token"), "excess": Money(r.excess_token, "token"),
            "in_flight": Money(r.in_flight_token, "token"), "target": Money(r.maximum_token, "token")}


def _duration(seconds: int | None) -> str:
    return "—" if seconds is None else f"{seconds} s"


def _context(request: HttpRequest, *, error: str = "") -> dict[str, Any]:
    from django.contrib import admin

    view = liquidity_overview()
    totals = view["totals"]

    def pair(figures: dict[str, int]) -> dict[str, Money]:
        return {"token": Money(figures["token"], "token"), "wei": Money(figures["wei"], "wei")}

    ttc = view["time_to_collateral"]
    return {
        **admin.site.each_context(request),
        "title": "Collateral liquidity",
        "totals": totals, "locked": pair(totals["locked"]), "idle": pair(totals["idle"]),
        "needed": pair(totals["needed"]), "in_flight": pair(totals["in_flight"]),
        "needing": [_row(r) for r in view["needing"]],
        "candidates": [_row(r) for r in view["reclaim_candidates"]],
        "largest": [_row(r) for r in view["largest"]],
        "ttc": ttc, "ttc_text": {k: _duration(v) for k, v in ttc["seconds"].items()},
        "idle_days": round(view["idle_after_seconds"] / 86400, 1),
        "can_rebalance": request.user.is_superuser,
        "error": error,
    }


def liquidity_view(request: HttpRequest) -> HttpResponse:
    return TemplateResponse(request, "admin/liquidity.html", _context(request))


@require_POST
def rebalance_view(request: HttpRequest) -> HttpResponse:
    """Reclaim the hub's collateral from a channel, or top it up to a target (in tokens). Only
    superusers (operators) rebalance; bad input is a 400 that changes nothing."""
    from hub.collateral.rebalance import collateral_reclaim, collateral_top_up

    if not request.user.is_superuser:
        raise PermissionDenied("only an operator may rebalance collateral")
    action = request.POST.get("action", "")
    try:
        if action not in ACTIONS:
            raise PaymentsError("parameter_invalid", "choose reclaim or top_up", param="action")
        user = normalize_address(request.POST.get("user", ""), param="user")
        target = parse_human(request.POST.get("target", ""), "token", param="target") if action == "top_up" else 0
    except PaymentsError as exc:
        response = TemplateResponse(request, "admin/liquidity.html", _context(request, error=exc.message),
                                    status=400)
        return response
    with transaction.atomic():
        outcome = (collateral_reclaim(user=user) if action == "reclaim"
                   else collateral_top_up(user=user, target_token=target))
        detail: dict[str, Any] = {"user": user, "outcome": outcome.code,
                                  "amount_wei": str(outcome.amount_wei), "amount_token": str(outcome.amount_token)}
        if action == "top_up":
            detail["target_token"] = str(target)
        if outcome.proposal is not None:
            detail["proposal"] = outcome.proposal.pk
        audit_record(action=f"admin.collateral.{action}", surface=AuditLog.Surface.ADMIN, actor=request.user,
                     target=f"channel:{user}", request=request, detail=detail)
    request.audit_recorded = True  # type: ignore[attr-defined]  # the site's generic POST audit skips it
    messages.add_message(request, messages.SUCCESS if outcome.done else messages.WARNING,
                         f"{user}: {outcome.message}")
    return redirect("admin:liquidity")
