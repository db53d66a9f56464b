"""The watchtower's periodic pass, one loop for channel and thread disputes alike."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

logger = logging.getLogger(__name__)


def advance_each(kind: str, dispute_ids: Iterable[int], advance: Callable[..., object]) -> int:
    """Call `advance(dispute_id=...)` for each dispute; one broken dispute must not starve the
    others. Returns how many were looked at."""
    ids = list(dispute_ids)
    for dispute_id in ids:
        try:
            advance(dispute_id=dispute_id)
        except Exception:
            logger.exception("%s %s could not be advanced", kind, dispute_id)
    return len(ids)
