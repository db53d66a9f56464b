"""Builders and Hypothesis strategies shared by the tests of hub/core (no Django, no database)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from hub.core import ChannelState, DidUpdateChannel, Signer, ThreadState, WithdrawalArgs
from hub.core.state import UINT256_MAX, ZERO_ROOT

REPO = Path(__file__).resolve().parents[3]
VECTORS_JS = Path(__file__).with_name("vectors.js")

HUB_KEY = "0x" + "11" * 32
USER_KEY = "0x" + "22" * 32
OTHER_KEY = "0x" + "33" * 32
HUB = Signer(HUB_KEY)
USER = Signer(USER_KEY)
OTHER = Signer(OTHER_KEY)
CONTRACT = "0x" + "cc" * 20
NOW = 1_700_000_000


def state(**fields: Any) -> ChannelState:
    """A channel state for USER with the given fields; hub-signed by default when txCount > 0."""
    base: dict[str, Any] = {
        "contract_address": CONTRACT,
        "user": USER.address,
        "recipient": USER.address,
        "tx_count_global": 1,
        "tx_count_chain": 1,
    }
    base.update(fields)
    return ChannelState(**base)


def signed(s: ChannelState, *, hub: bool = True, user: bool = True) -> ChannelState:
    s = s.unsigned()
    if hub:
        s = HUB.sign_channel_state(s, as_party="hub")
    if user:
        s = USER.sign_channel_state(s, as_party="user")
    return s


def withdrawal(**fields: Any) -> WithdrawalArgs:
    base: dict[str, Any] = {
        "seller": "user",
        "exchange_rate": "5",
        "tokens_to_sell": 0,
        "wei_to_sell": 0,
        "recipient": USER.address,
        "target_wei_user": 0,
        "target_token_user": 0,
        "target_wei_hub": 0,
        "target_token_hub": 0,
        "timeout": 0,
    }
    base.update(fields)
    return WithdrawalArgs(**base)


def run_vectors(request: dict[str, Any]) -> dict[str, Any]:
    """One node call per batch: the real client computes the answers."""
    proc = subprocess.run(
        ["node", str(VECTORS_JS)],
        input=json.dumps(request).encode(),
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


# --- strategies ------------------------------------------------------------------------------

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
bytes32s = st.one_of(
    st.just(ZERO_ROOT), st.binary(min_size=32, max_size=32).map(lambda b: "0x" + b.hex())
)
uint256s = st.one_of(st.integers(0, 1000), st.integers(0, 10**30), st.integers(0, UINT256_MAX))
small = st.integers(0, 10**21)
rates = st.one_of(
    st.sampled_from(["5", "1", "0.5", "123.45", "201.123456789012345678", "3"]),
    st.builds(
        lambda whole, frac: f"{whole}.{frac}" if frac else str(whole),
        st.integers(1, 100_000),
        st.text("0123456789", max_size=18),
    ),
)


@st.composite
def channel_states(draw: st.DrawFn, amounts: st.SearchStrategy[int] = uint256s) -> ChannelState:
    fields: dict[str, Any] = {
        name: draw(amounts)
        for name in (
            "balance_wei_hub",
            "balance_wei_user",
            "balance_token_hub",
            "balance_token_user",
            "pending_deposit_wei_hub",
            "pending_deposit_wei_user",
            "pending_deposit_token_hub",
            "pending_deposit_token_user",
            "pending_withdrawal_wei_hub",
            "pending_withdrawal_wei_user",
            "pending_withdrawal_token_hub",
            "pending_withdrawal_token_user",
        )
    }
    return ChannelState(
        contract_address=draw(addresses),
        user=draw(addresses),
        recipient=draw(addresses),
        tx_count_global=draw(st.integers(0, 2**40)),
        tx_count_chain=draw(st.integers(0, 2**40)),
        thread_root=draw(bytes32s),
        thread_count=draw(st.integers(0, 1000)),
        timeout=draw(st.integers(0, 2**40)),
        **fields,
    )


@st.composite
def thread_states(draw: st.DrawFn) -> ThreadState:
    return ThreadState(
        contract_address=draw(addresses),
        sender=draw(addresses),
        receiver=draw(addresses),
        thread_id=draw(st.integers(0, 2**32)),
        balance_wei_sender=draw(uint256s),
        balance_wei_receiver=draw(uint256s),
        balance_token_sender=draw(uint256s),
        balance_token_receiver=draw(uint256s),
        tx_count=draw(st.integers(0, 2**32)),
    )


def did_update(s: ChannelState, **over: Any) -> DidUpdateChannel:
    """The DidUpdateChannel event the contract emits for `s`, with `over` changed."""
    fields: dict[str, Any] = dict(
        contract_address=s.contract_address,
        user=s.user,
        sender_idx=0,
        wei_balances=(s.balance_wei_hub, s.balance_wei_user),
        token_balances=(s.balance_token_hub, s.balance_token_user),
        pending_wei_updates=(
            s.pending_deposit_wei_hub,
            s.pending_withdrawal_wei_hub,
            s.pending_deposit_wei_user,
            s.pending_withdrawal_wei_user,
        ),
        pending_token_updates=(
            s.pending_deposit_token_hub,
            s.pending_withdrawal_token_hub,
            s.pending_deposit_token_user,
            s.pending_withdrawal_token_user,
        ),
        tx_count=(s.tx_count_global, s.tx_count_chain),
        thread_root=s.thread_root,
        thread_count=s.thread_count,
    )
    fields.update(over)
    return DidUpdateChannel(**fields)
