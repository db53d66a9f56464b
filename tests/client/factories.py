"""States signed by a test hub key, built with hub.core, and the sync shape the hub sends."""

from __future__ import annotations

from typing import Any

from spoke_client import ChannelUpdate, UserKey

from hub.core import ChannelState, Signer

HUB_KEY = "0x" + "11" * 32
USER_KEY = "0x" + "22" * 32
OTHER_KEY = "0x" + "33" * 32
HUB = Signer(HUB_KEY)
USER = UserKey(USER_KEY)
OTHER = Signer(OTHER_KEY)
CONTRACT = "0x" + "cc" * 20
NOW = 1_700_000_000
RATE = "200"  # tokens per ETH
E18 = 10**18


def state(**fields: Any) -> ChannelState:
    base: dict[str, Any] = {
        "contract_address": CONTRACT,
        "user": USER.address,
        "recipient": USER.address,
        "tx_count_global": 5,
        "tx_count_chain": 1,
    }
    base.update(fields)
    return ChannelState(**base)


def double_signed(s: ChannelState) -> ChannelState:
    return USER.sign_state(HUB.sign_channel_state(s.unsigned(), as_party="hub"))


def hub_signed(s: ChannelState) -> ChannelState:
    return HUB.sign_channel_state(s.unsigned(), as_party="hub")


def funded(**fields: Any) -> ChannelState:
    """A double-signed state with money on both sides and nothing pending."""
    base: dict[str, Any] = {
        "balance_wei_hub": 2 * E18,
        "balance_wei_user": 1 * E18,
        "balance_token_hub": 300 * E18,
        "balance_token_user": 100 * E18,
    }
    base.update(fields)
    return double_signed(state(**base))


def update_json(reason: str, args: dict[str, Any], *, tx_count: int | None,
                sig_hub: str | None = None, sig_user: str | None = None,
                id: int | None = None) -> dict[str, Any]:
    return {
        "reason": reason,
        "args": args,
        "txCount": tx_count,
        "sigHub": sig_hub or "",
        "sigUser": sig_user or "",
        "createdOn": "2024-01-01T00:00:00Z" if tx_count else None,
        "id": id if id is not None else (tx_count or -1),
    }


def proposal(reason: str, args: dict[str, Any], *, tx_count: int | None,
             sig_hub: str | None = None, sig_user: str | None = None) -> ChannelUpdate:
    return ChannelUpdate.from_json(update_json(reason, args, tx_count=tx_count, sig_hub=sig_hub,
                                               sig_user=sig_user))


def sync_of(*updates: dict[str, Any], status: str = "CS_OPEN") -> dict[str, Any]:
    return {"status": status, "updates": [{"type": "channel", "update": u} for u in updates]}
