"""The chain's part of /healthz (ops/health.py; registered in HubConfig.ready())."""

from __future__ import annotations

from hub.chain.client import chain_status
from ops.health import Check


def chain_checks() -> dict[str, Check]:
    """The chain (reachable, the expected chain id) and the contracts (deployed)."""
    try:
        status = chain_status(timeout=2.0)
    except Exception as exc:
        return {"chain": (False, {"error": type(exc).__name__}),
                "contracts": (False, {"error": "chain unreachable"})}
    chain_ok = status["chain_id"] == status["expected_chain_id"]
    chain = {k: status[k] for k in ("chain_id", "expected_chain_id", "latest_block")}
    contracts = status["contracts"]
    contracts_ok = all(c["deployed"] for c in contracts.values())
    return {"chain": (chain_ok, chain), "contracts": (contracts_ok, contracts)}
