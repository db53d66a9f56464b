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


@lru_cache(maxsize=4)
def _view_selectors(address: str) -> tuple[str, str]:
    """The 4-byte selectors of getChannelBalances and getChannelDetails (both take one address)."""
    from eth_utils import function_abi_to_4byte_selector

    abi = {entry["name"]: entry for entry in load_abi("ChannelManager") if entry.get("type") == "function"}
    balances, details = ("0x" + function_abi_to_4byte_selector(abi[name]).hex()
                         for name in ("getChannelBalances", "getChannelDetails"))
    return balances, details


def _words(result: object, count: int) -> list[int]:
    """An eth_call result of `count` static 32-byte words (uint256, bytes32, address, uint8), as
    integers: the generic ABI decoder costs more than the call itself over 100 000 channels."""
    data = bytes.fromhex(str(result).removeprefix("0x"))
    if len(data) != 32 * count:
        raise RuntimeError(f"expected {count} words from the contract, got {len(data)} bytes")
    return [int.from_bytes(data[i:i + 32], "big") for i in range(0, len(data), 32)]


def channels_on_chain(users: list[str], *, block: int | str = "latest") -> dict[str, dict[str, int]]:
    """`channel_on_chain` for many users in one JSON-RPC batch (two eth_calls per user, all
    read at `block`): the reconciliation pass reads every channel, and one HTTP round trip and
    one ABI encoding per call would make it take hours at 100 000 channels."""
    if not users:
        return {}
    cm = channel_manager()
    balances_sel, details_sel = _view_selectors(cm.address)
    tag = hex(block) if isinstance(block, int) else block
    calls = []
    for user in users:
        arg = "0" * 24 + user.lower().removeprefix("0x")
        calls.append(("eth_call", [{"to": cm.address, "data": balances_sel + arg}, tag]))
        calls.append(("eth_call", [{"to": cm.address, "data": details_sel + arg}, tag]))
    responses = get_web3(timeout=60).provider.make_batch_request(calls)  # type: ignore[arg-type]
    if not isinstance(responses, list) or len(responses) != len(calls):
        raise RuntimeError(f"batched eth_call failed: {str(responses)[:300]}")
    out: dict[str, dict[str, int]] = {}
    for i, user in enumerate(users):
        got = [responses[2 * i], responses[2 * i + 1]]
        for response in got:
            if "error" in response or "result" not in response:
                raise RuntimeError(f"eth_call for {user} failed: {response.get('error')}")
        wei_hub, wei_user, wei_total, token_hub, token_user, token_total = _words(got[0]["result"], 6)
        tx_global, tx_chain, _root, thread_count, _initiator, closing_time, status = _words(
            got[1]["result"], 7)
        out[user] = {
            "wei_hub": wei_hub, "wei_user": wei_user, "wei_total": wei_total,
            "token_hub": token_hub, "token_user": token_user, "token_total": token_total,
            "tx_count_global": tx_global, "tx_count_chain": tx_chain, "thread_count": thread_count,
            "closing_time": closing_time, "status": status,
        }
    return out


def hub_reserves() -> tuple[int, int]:
    cm = channel_manager().functions
    return int(cm.getHubReserveWei().call()), int(cm.getHubReserveTokens().call())
