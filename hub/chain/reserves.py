"""The hub's assets as the chain shows them, for proof of reserves: what the ChannelManager
contract holds (every channel's funds and the hub's reserve) and what the hub's own account holds
(gas and on-chain payouts), in ETH and in the token."""

from __future__ import annotations

from django.conf import settings
from web3 import Web3

from hub.chain.client import get_web3
from hub.chain.signer import hub_address

_BALANCE_OF = [{"name": "balanceOf", "type": "function", "stateMutability": "view",
                "inputs": [{"name": "a", "type": "address"}],
                "outputs": [{"name": "", "type": "uint256"}]}]


def chain_assets() -> tuple[int, dict[str, dict[str, int]]]:
    """(block, {asset: {"contract": n, "hubAccount": n}}) for "wei" and "token", all read at that
    block. Raises whatever web3 raises when the node cannot be reached (the caller records it)."""
    if not settings.CHANNEL_MANAGER_ADDRESS:
        raise RuntimeError("CHANNEL_MANAGER_ADDRESS is not configured")
    w3 = get_web3()
    block = w3.eth.block_number
    contract = Web3.to_checksum_address(settings.CHANNEL_MANAGER_ADDRESS)
    hub = Web3.to_checksum_address(hub_address())
    out = {"wei": {"contract": int(w3.eth.get_balance(contract, block)),
                   "hubAccount": int(w3.eth.get_balance(hub, block))},
           "token": {"contract": 0, "hubAccount": 0}}
    if settings.TOKEN_ADDRESS:
        token = w3.eth.contract(address=Web3.to_checksum_address(settings.TOKEN_ADDRESS),
                                abi=_BALANCE_OF).functions
        out["token"] = {"contract": int(token.balanceOf(contract).call(block_identifier=block)),
                        "hubAccount": int(token.balanceOf(hub).call(block_identifier=block))}
    return int(block), out
