"""Calls to Spoke's ChannelManager: call-data for the hub's own transactions and reads of the
contract's view of channels and reserves."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from web3 import Web3
from web3.contract import Contract

from hub.chain.artifacts import load_abi
from hub.chain.client import get_web3
from hub.core import ChannelState


@lru_cache(maxsize=4)
def _contract(address: str) -> Contract:
    return get_web3().eth.contract(address=Web3.to_checksum_address(address),
                                   abi=load_abi("ChannelManager"))


def channel_manager() -> Contract:
    if not settings.CHANNEL_MANAGER_ADDRESS:
        raise RuntimeError("CHANNEL_MANAGER_ADDRESS is not configured")
    return _contract(settings.CHANNEL_MANAGER_ADDRESS)


def authorized_update_args(state: ChannelState) -> list[Any]:
    """The state in the contract's argument order (without the signature argument)."""
    return [
        Web3.to_checksum_address(state.user),
        Web3.to_checksum_address(state.recipient),
        [state.balance_wei_hub, state.balance_wei_user],
        [state.balance_token_hub, state.balance_token_user],
        [state.pending_deposit_wei_hub, state.pending_withdrawal_wei_hub,
         state.pending_deposit_wei_user, state.pending_withdrawal_wei_user],
        [state.pending_deposit_token_hub, state.pending_withdrawal_token_hub,
         state.pending_deposit_token_user, state.pending_withdrawal_token_user],
        [state.tx_count_global, state.tx_count_chain],
        bytes.fromhex(state.thread_root[2:]),
        state.thread_count,
        state.timeout,
    ]


def encode_hub_authorized_update(state: ChannelState) -> str:
    """Call-data of `hubAuthorizedUpdate` for a state the user has signed."""
    if not state.sig_user:
        raise ValueError("hubAuthorizedUpdate needs the user's signature")
    return str(channel_manager().encode_abi(
        "hubAuthorizedUpdate", args=[*authorized_update_args(state), state.sig_user]))


def channel_on_chain(user: str) -> dict[str, int]:
    """The contract's view of one channel (balances, totals, counts, status)."""
    cm = channel_manager().functions
    address = Web3.to_checksum_address(user)
    wei_hub, wei_user, wei_total, token_hub, token_user, token_total = (
        cm.getChannelBalances(address).call())
    tx_global, tx_chain, _root, thread_count, _initiator, closing_time, status = (
        cm.getChannelDetails(address).call())
    return {
        "wei_hub": wei_hub, "wei_user": wei_user, "wei_total": wei_total,
        "token_hub": token_hub, "token_user": token_user, "token_total": token_total,
        "tx_count_global": tx_global, "tx_count_chain": tx_chain, "thread_count": thread_count,
        "closing_time": closing_time, "status": status,
    }


def hub_reserves() -> tuple[int, int]:
    cm = channel_manager().functions
    return int(cm.getHubReserveWei().call()), int(cm.getHubReserveTokens().call())
