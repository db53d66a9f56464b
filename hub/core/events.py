"""Decoded ChannelManager events, as plain data (decoding from logs lives in hub/chain)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DidUpdateChannel:
    """`DidUpdateChannel(user, senderIdx, weiBalances[2], tokenBalances[2], pendingWeiUpdates[4],
    pendingTokenUpdates[4], txCount[2], threadRoot, threadCount)` plus where it came from.
    Pending arrays are [depositHub, withdrawalHub, depositUser, withdrawalUser]."""

    contract_address: str  # the contract that emitted it (the tx's `to`)
    user: str
    sender_idx: int  # 0 = hub (hubAuthorizedUpdate), 1 = user (userAuthorizedUpdate)
    wei_balances: tuple[int, int]
    token_balances: tuple[int, int]
    pending_wei_updates: tuple[int, int, int, int]
    pending_token_updates: tuple[int, int, int, int]
    tx_count: tuple[int, int]
    thread_root: str
    thread_count: int


@dataclass(frozen=True, slots=True)
class DidEmptyChannel:
    """`DidEmptyChannel(user, senderIdx, weiBalances[2], tokenBalances[2], txCount[2], threadRoot,
    threadCount)`; the balances are the channel's after it was emptied (zero)."""

    contract_address: str
    user: str
    sender_idx: int
    wei_balances: tuple[int, int]
    token_balances: tuple[int, int]
    tx_count: tuple[int, int]
    thread_root: str
    thread_count: int
