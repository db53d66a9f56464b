"""The web3 client: the one place that builds a connection to the Ethereum node."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from web3 import Web3
from web3.providers.rpc import HTTPProvider


@lru_cache(maxsize=8)
def _web3_for(url: str, timeout: float) -> Web3:
    return Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}))


def get_web3(timeout: float = 10.0) -> Web3:
    """A Web3 bound to settings.ETH_RPC_URL (cached per URL and timeout)."""
    return _web3_for(settings.ETH_RPC_URL, timeout)


def chain_status(timeout: float = 2.0) -> dict[str, Any]:
    """Chain id, latest block and whether the configured contracts have code. Raises on failure."""
    w3 = get_web3(timeout)
    chain_id = w3.eth.chain_id
    block = w3.eth.get_block("latest")
    contracts: dict[str, Any] = {}
    for name, address in (
        ("channel_manager", settings.CHANNEL_MANAGER_ADDRESS),
        ("token", settings.TOKEN_ADDRESS),
    ):
        has_code = bool(address) and len(w3.eth.get_code(Web3.to_checksum_address(address or ""))) > 0
        contracts[name] = {"address": address, "deployed": has_code}
    return {
        "chain_id": chain_id,
        "expected_chain_id": settings.CHAIN_ID,
        "latest_block": block["number"],
        "latest_block_time": block["timestamp"],
        "contracts": contracts,
    }
