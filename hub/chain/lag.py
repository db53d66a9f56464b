"""How far behind the chain the event ingester is, for the public status page and monitors."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)


def ingestion_lag(*, timeout: float = 2.0) -> dict[str, Any]:
    """Blocks and seconds between the chain's head and the newest block whose events are all
    ingested and handled (`ingested_head`). `available` is false, with the other figures None,
    when no contract is configured or the node does not answer within `timeout`; this never
    raises. The confirmation depth is part of the lag by design: events younger than it wait."""
    from hub.chain.client import get_web3
    from hub.chain.ingest import ingested_head

    lag: dict[str, Any] = {"available": False, "head_block": None, "ingested_block": None,
                           "blocks_behind": None, "seconds_behind": None,
                           "confirmations": settings.CONFIRMATIONS}
    address = settings.CHANNEL_MANAGER_ADDRESS
    if not address:
        return lag
    try:
        w3 = get_web3(timeout)
        head = w3.eth.get_block("latest")
        ingested = ingested_head(address)
        lag.update(available=True, head_block=int(head["number"]), ingested_block=ingested)
        if ingested is None:
            return lag
        lag["blocks_behind"] = max(0, int(head["number"]) - ingested)
        ingested_time = int(w3.eth.get_block(ingested)["timestamp"])
        lag["seconds_behind"] = max(0, int(head["timestamp"]) - ingested_time)
    except Exception as exc:  # the page reports the node as unavailable; it never fails with it
        logger.info("chain ingestion lag unavailable: %s", type(exc).__name__)
        lag.update(available=False)
    return lag
