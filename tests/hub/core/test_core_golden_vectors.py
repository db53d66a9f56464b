"""Hashes, Merkle roots, signatures, conversions and generated states agree with the real
Connext client (node_modules/connext), computed in node, one call per Hypothesis batch."""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from core_factories import (
    CONTRACT,
    USER,
    addresses,
    channel_states,
    rates,
    run_vectors,
    small,
    thread_states,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hub.core import (
    ChannelState,
    Signer,
    channel_state_hash,
    deposit_request_hash,
    merkle_root_of_hashes,
    thread_root,
    thread_state_hash,
    token_to_wei,
    transitions,
    wei_to_token,
)
from hub.core.args import (
    DepositArgs,
    ExchangeArgs,
    InvalidationArgs,
    PaymentArgs,
    WithdrawalArgs,
)

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs node")

# No shrinking: every shrink step would be another node call.
BATCH = settings(
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@BATCH
@given(
    channels=st.lists(channel_states(), min_size=25, max_size=25),
    threads=st.lists(thread_states(), min_size=10, max_size=10),
    thread_sets=st.lists(st.lists(thread_states(), max_size=7), min_size=6, max_size=6),
    deposits=st.lists(
        st.tuples(st.integers(0, 2**256 - 1), st.integers(0, 2**256 - 1)), min_size=5, max_size=5
    ),
)
def test_hashes_and_thread_roots_match_the_client(
    channels: list[ChannelState],
    threads: list[Any],
    thread_sets: list[list[Any]],
    deposits: list[tuple[int, int]],
) -> None:
    got = run_vectors(
        {
            "channels": [c.to_json(with_sigs=False) for c in channels],
            "threads": [t.to_json(with_sig=False) for t in threads],
            "threadSets": [[t.to_json(with_sig=False) for t in s] for s in thread_sets],
            "deposits": [{"amountToken": str(t), "amountWei": str(w)} for t, w in deposits],
        }
    )
    assert got["channelHashes"] == [channel_state_hash(c) for c in channels]
    assert got["threadHashes"] == [thread_state_hash(t) for t in threads]
    assert got["threadRoots"] == [thread_root(s) for s in thread_sets]
    assert got["depositHashes"] == [deposit_request_hash(t, w) for t, w in deposits]


def test_merkle_roots_match_the_client_for_duplicates_and_odd_counts() -> None:
    leaves = ["0x" + format(i, "064x") for i in (7, 3, 9, 3, 1)]
    sets = [
        [],
        leaves[:1],
        leaves[:2],
        leaves[:3],
        leaves,
        leaves * 2,
        [*leaves[:4], "0x" + "ff" * 32],
    ]
    got = run_vectors({"leafSets": sets})
    assert got["merkleRoots"] == [merkle_root_of_hashes(s) for s in sets]
    assert got["merkleRoots"][0] == "0x" + "00" * 32


@BATCH
@given(
    keys=st.lists(
        st.binary(min_size=32, max_size=32).filter(lambda b: 0 < int.from_bytes(b, "big") < 2**255),
        min_size=8,
        max_size=8,
    ),
    hashes=st.lists(st.binary(min_size=32, max_size=32), min_size=8, max_size=8),
)
def test_signatures_match_ethers_wallet_sign_message(
    keys: list[bytes], hashes: list[bytes]
) -> None:
    request = [
        {"key": "0x" + k.hex(), "hash": "0x" + h.hex()} for k, h in zip(keys, hashes, strict=True)
    ]
    got = run_vectors({"sign": request})
    # RFC 6979 signatures are deterministic, so equal keys and hashes give byte-equal signatures.
    assert got["signatures"] == [Signer(r["key"]).sign_hash(r["hash"]) for r in request]


@BATCH
@given(st.lists(st.tuples(st.integers(-(10**30), 10**30), rates), min_size=40, max_size=40))
def test_wei_token_conversions_truncate_like_the_client(pairs: list[tuple[int, str]]) -> None:
    got = run_vectors({"conversions": [{"amount": str(a), "rate": r} for a, r in pairs]})
    assert got["conversions"] == [
        {"tokenToWei": str(token_to_wei(a, r)), "weiToToken": str(wei_to_token(a, r))}
        for a, r in pairs
    ]


@st.composite
def generator_cases(draw: st.DrawFn) -> tuple[str, ChannelState, Any]:
    prev = draw(channel_states(amounts=small)).replace(
        contract_address=CONTRACT, user=USER.address, recipient=USER.address
    )
    reason = draw(
        st.sampled_from(
            [
                "Payment",
                "Exchange",
                "ProposePendingDeposit",
                "ProposePendingWithdrawal",
                "ConfirmPending",
                "Invalidation",
                "InvalidationWithdrawal",
            ]
        )
    )
    party = st.sampled_from(["hub", "user"])
    withdrawal = WithdrawalArgs(
        seller=draw(party),
        exchange_rate=draw(rates),
        tokens_to_sell=draw(small),
        wei_to_sell=draw(small),
        recipient=draw(addresses),
        target_wei_user=draw(small),
        target_token_user=draw(small),
        target_wei_hub=draw(small),
        target_token_hub=draw(small),
        timeout=draw(st.integers(0, 2**40)),
        additional_wei_hub_to_user=draw(small),
        additional_token_hub_to_user=draw(small),
    )
    args: Any
    if reason == "Payment":
        args = PaymentArgs(draw(party), draw(small), draw(small))
    elif reason == "Exchange":
        args = ExchangeArgs(draw(party), draw(rates), draw(small), draw(small))
    elif reason == "ProposePendingDeposit":
        args = DepositArgs(
            draw(small), draw(small), draw(small), draw(small), draw(st.integers(0, 2**40))
        )
    elif reason == "ProposePendingWithdrawal":
        args = withdrawal
    elif reason == "ConfirmPending":
        args = None
    elif reason == "Invalidation":
        args = InvalidationArgs(prev.tx_count_global, "CU_INVALID_ERROR")
    else:
        reason = "Invalidation"
        args = InvalidationArgs(prev.tx_count_global, "CU_INVALID_TIMEOUT", withdrawal=withdrawal)
    return reason, prev, args


def _python_generate(reason: str, prev: ChannelState, args: Any) -> ChannelState:
    return {
        "Payment": lambda: transitions.payment(prev, args),
        "Exchange": lambda: transitions.exchange(prev, args),
        "ProposePendingDeposit": lambda: transitions.propose_pending_deposit(prev, args),
        "ProposePendingWithdrawal": lambda: transitions.propose_pending_withdrawal(prev, args),
        "ConfirmPending": lambda: transitions.confirm_pending(prev),
        "Invalidation": lambda: transitions.invalidation(prev, args),
    }[reason]()


@BATCH
@given(st.lists(generator_cases(), min_size=60, max_size=60))
def test_generated_states_equal_the_clients_state_generator(
    cases: list[tuple[str, ChannelState, Any]],
) -> None:
    request = [
        {
            "reason": reason,
            "prev": prev.to_json(),
            "args": args.to_json() if args is not None else {"transactionHash": "0x" + "00" * 32},
        }
        for reason, prev, args in cases
    ]
    got = run_vectors({"generate": request})["generated"]
    for (reason, prev, args), answer in zip(cases, got, strict=True):
        assert "error" not in answer, (reason, answer)
        ours = _python_generate(reason, prev, args).to_json(with_sigs=False)
        assert ours == answer["state"], reason
