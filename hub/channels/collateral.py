"""Kept for callers of the first version; the collateral code lives in hub/collateral/."""

from __future__ import annotations

from typing import Any

from hub.collateral.services import collateral_request


def channel_request_collateral(*, user: str, target: int = 0) -> Any:
    return collateral_request(user=user, target=target)


def collateral_ceiling() -> int:
    from hub.collateral.services import policy

    return policy().ceiling
