"""What an operator sees first on the admin index: open alarms, the hub's reserve in the
contract, and the global switches."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from payments.dashboard.money import Money

logger = logging.getLogger(__name__)


def hub_overview() -> dict[str, Any]:
    from ops.models import Alarm, GlobalSwitches

    alarms = list(Alarm.objects.filter(acknowledged_at__isnull=True).order_by("-severity", "-raised_at")[:20])
    reserve: dict[str, Any] = {"error": ""}
    try:
        from hub.chain.channel_manager import hub_reserves

        wei, token = hub_reserves()
        reserve.update(
            wei=Money(wei, "wei"), token=Money(token, "token"),
            wei_low=wei < settings.RESERVE_ALARM_WEI, token_low=token < settings.RESERVE_ALARM_TOKENS,
            wei_floor=Money(settings.RESERVE_ALARM_WEI, "wei"),
            token_floor=Money(settings.RESERVE_ALARM_TOKENS, "token"))
    except Exception as exc:  # no node or no contract in this environment: say so, don't 500
        logger.info("hub reserve unavailable: %s", type(exc).__name__)
        reserve["error"] = f"unavailable ({type(exc).__name__}): is the chain node reachable?"
    return {"alarms": alarms, "reserve": reserve, "switches": GlobalSwitches.objects.order_by("pk").first()}
