"""Call-data of the ChannelManager's dispute functions and the chain reads a dispute needs.
Transactions go through the outbox (hub/chain/outbox.py); nothing here sends."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings

from hub.chain.channel_manager import authorized_update_args, channel_manager
from hub.chain.client import get_web3
from hub.core import ChannelState


def exit_args(state: ChannelState) -> list[Any]:
    """`startExitWithUpdate` / `emptyChannelWithChallenge` arguments: like an authorized update,
    but `[user, recipient]` is one array and both signatures follow. The contract refuses a
    state with a timeout, so the caller passes an exitable state (double-signed, timeout 0)."""
    if not state.sig_user or not state.sig_hub:
        raise ValueError("an exit needs a double-signed state")
    if state.timeout != 0:
        raise ValueError("an exit needs a state without timeout")
    args = authorized_update_args(state)
    return [[args[0], args[1]], *args[2:], state.sig_hub, state.sig_user]


def _checksum(user: str) -> str:
    return get_web3().to_checksum_address(user)


def encode_start_exit(user: str) -> str:
    return str(channel_manager().encode_abi("startExit", args=[_checksum(user)]))


def encode_start_exit_with_update(state: ChannelState) -> str:
    return str(channel_manager().encode_abi("startExitWithUpdate", args=exit_args(state)))


def encode_empty_channel_with_challenge(state: ChannelState) -> str:
    return str(channel_manager().encode_abi("emptyChannelWithChallenge", args=exit_args(state)))


def encode_empty_channel(user: str) -> str:
    return str(channel_manager().encode_abi("emptyChannel", args=[_checksum(user)]))


@lru_cache(maxsize=8)
def _challenge_period(rpc_url: str, address: str) -> int:
    return int(channel_manager().functions.challengePeriod().call())


def challenge_period() -> int:
    """The contract's challenge period in seconds (immutable, so cached per node and contract)."""
    return _challenge_period(str(settings.ETH_RPC_URL), str(settings.CHANNEL_MANAGER_ADDRESS).lower())


def block_timestamp(block_number: int) -> int:
    return int(get_web3().eth.get_block(block_number)["timestamp"])


def chain_now() -> int:
    """The latest block's timestamp: what the contract compares closing times with, give or
    take the next block."""
    return int(get_web3().eth.get_block("latest")["timestamp"])


def channel_details(user: str) -> dict[str, Any]:
    """`getChannelDetails(user)`: txCounts, exit initiator, closing time, status (0 open,
    1 channel dispute, 2 thread dispute)."""
    tx_global, tx_chain, _root, thread_count, initiator, closing, status = (
        channel_manager().functions.getChannelDetails(_checksum(user)).call())
    return {
        "tx_count_global": int(tx_global), "tx_count_chain": int(tx_chain),
        "thread_count": int(thread_count), "exit_initiator": str(initiator).lower(),
        "closing_time": int(closing), "status": int(status),
    }


STATUS_OPEN, STATUS_CHANNEL_DISPUTE, STATUS_THREAD_DISPUTE = 0, 1, 2
