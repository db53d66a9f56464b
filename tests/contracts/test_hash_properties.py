"""Property tests: the channel and thread state hashes computed in Python (eth_abi encode_packed +
keccak, as the Connext client packs them) are the ones the contract verifies signatures over, for
random states across the whole uint256 range. The contract has no public hash view (neither had the
original), so agreement is shown by signature acceptance, with a one-field mutation as control."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from web3 import Web3
from web3.exceptions import ContractLogicError

from tests.contracts.chain import (
    CHALLENGE_PERIOD,
    SECP256K1_N,
    ZERO32,
    Chain,
    State,
    ThreadState,
    merkle_proof,
    merkle_root,
    sign,
)

pytestmark = pytest.mark.chain

UINT = st.integers(0, 2**256 - 1)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

keys = st.integers(1, SECP256K1_N - 1).map(lambda k: Account.from_key(k.to_bytes(32, "big")))
addresses = st.binary(min_size=20, max_size=20).map(lambda b: Web3.to_checksum_address(b))
roots = st.one_of(st.just((ZERO32, 0)), st.tuples(
    st.binary(min_size=32, max_size=32).filter(lambda b: b != ZERO32), st.integers(1, 2**255)))


def _reason(fn, sender: str) -> str:
    try:
        fn.call({"from": sender})
    except ContractLogicError as err:
        return str(err.message or err)
    return ""


@st.composite
def channel_states(draw: st.DrawFn, user: LocalAccount) -> State:
    root, count = draw(roots)
    return State(
        user=user.address, recipient=draw(addresses),
        wei=(draw(UINT), draw(UINT)), token=(draw(UINT), draw(UINT)),
        pending_wei=tuple(draw(UINT) for _ in range(4)),  # type: ignore[arg-type]
        pending_token=tuple(draw(UINT) for _ in range(4)),  # type: ignore[arg-type]
        tx_count=(draw(UINT), draw(UINT)), thread_root=root, thread_count=count, timeout=0,
    )


def _mutations(state: State) -> list[State]:
    bump = lambda x: (x + 1) % 2**256  # noqa: E731
    return [
        state.replace(recipient=state.user if state.recipient != state.user else Web3.to_checksum_address("0x" + "11" * 20)),
        state.replace(wei=(bump(state.wei[0]), state.wei[1])),
        state.replace(token=(state.token[0], bump(state.token[1]))),
        state.replace(pending_wei=(*state.pending_wei[:3], bump(state.pending_wei[3]))),
        state.replace(pending_token=(bump(state.pending_token[0]), *state.pending_token[1:])),
        state.replace(tx_count=(state.tx_count[0], bump(state.tx_count[1]))),
    ]


@SETTINGS
@given(data=st.data(), user=keys)
def test_channel_state_hash_matches_the_contract(module_chain: Chain, data: st.DataObject, user: LocalAccount) -> None:
    chain = module_chain
    if user.address == chain.hub.address:
        return
    state = data.draw(channel_states(user))
    digest = state.hash(chain.cm.address)
    sig_hub, sig_user = sign(chain.hub, digest), sign(user, digest)

    def submit(s: State) -> str:
        fn = chain.cm.functions.startExitWithUpdate([s.user, s.recipient], *s.body(), sig_hub, sig_user)
        return _reason(fn, chain.hub.address)

    # Both signatures verify; whatever fails afterwards (txCount, conservation, overflow) is not
    # about the hash.
    assert "signature invalid" not in submit(state)
    mutated = data.draw(st.sampled_from(_mutations(state)))
    assert "hub signature invalid" in submit(mutated)


@SETTINGS
@given(data=st.data(), user=keys)
def test_timeout_and_thread_fields_are_hashed(module_chain: Chain, data: st.DataObject, user: LocalAccount) -> None:
    """hubAuthorizedUpdate on a fresh channel accepts a random valid state (random recipient,
    txCounts, thread root and count, a timeout anywhere in the future) signed by the user."""
    chain = module_chain
    root, count = data.draw(roots)
    state = State(
        user=user.address, recipient=data.draw(addresses),
        pending_wei=(data.draw(st.integers(0, 10**18)), 0, data.draw(st.integers(0, 10**18)), 0),
        pending_token=(data.draw(st.integers(0, 10**18)), 0, data.draw(st.integers(0, 10**18)), 0),
        tx_count=(data.draw(st.integers(1, 2**256 - 1)), data.draw(UINT)),
        thread_root=root, thread_count=count,
        timeout=data.draw(st.one_of(st.just(0), st.integers(chain.now() + 3600, 2**256 - 1))),
    )
    sig = sign(user, state.hash(chain.cm.address))
    assert _reason(chain.hub_update(state, sig=sig), chain.hub.address) == ""
    # another valid timeout (the drawn one may be the largest uint256)
    other_timeout = state.timeout - 1 if state.timeout == 2**256 - 1 else state.timeout + 1
    changed = state.replace(timeout=other_timeout) if state.timeout else state.replace(
        thread_count=state.thread_count + 1 if state.thread_count else 0,
        tx_count=(state.tx_count[0], (state.tx_count[1] + 1) % 2**256))
    assert "user signature invalid" in _reason(chain.hub_update(changed, sig=sig), chain.hub.address)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), sender=keys, receiver=addresses, extra=st.lists(st.binary(min_size=32, max_size=32), max_size=6))
def test_thread_hash_and_merkle_root_match_the_contract(
    module_chain: Chain, data: st.DataObject, sender: LocalAccount, receiver: str, extra: list[bytes]
) -> None:
    chain = module_chain
    if receiver in (sender.address, chain.hub.address, chain.cm.address) or sender.address == chain.hub.address:
        return
    initial = ThreadState(sender.address, receiver, data.draw(UINT),
                          wei=(data.draw(UINT), 0), token=(data.draw(UINT), 0))
    leaf = initial.hash(chain.cm.address)
    leaves = [leaf, *extra]
    root = merkle_root(leaves)
    chain.snapshot()
    try:
        # Put the sender's (empty) channel into thread dispute with that root.
        exit_state = State(user=sender.address, tx_count=(1, 0), thread_root=root, thread_count=len(set(leaves)))
        digest = exit_state.hash(chain.cm.address)
        chain.transact(chain.cm.functions.startExitWithUpdate(
            [sender.address, sender.address], *exit_state.body(), sign(chain.hub, digest), sign(sender, digest)),
            chain.hub)
        chain.advance(CHALLENGE_PERIOD + 1)
        chain.transact(chain.cm.functions.emptyChannel(sender.address), chain.hub)

        proof = merkle_proof(leaf, leaves)
        start = chain.cm.functions.startExitThread(
            sender.address, sender.address, receiver, initial.thread_id, list(initial.wei),
            list(initial.token), proof, sign(sender, leaf))
        assert _reason(start, chain.hub.address) == ""

        split_wei = data.draw(st.integers(0, initial.wei[0]))
        split_token = data.draw(st.integers(0, initial.token[0]))
        update = dataclasses.replace(initial, wei=(initial.wei[0] - split_wei, split_wei),
                                     token=(initial.token[0] - split_token, split_token),
                                     tx_count=data.draw(st.integers(1, 2**256 - 1)))
        with_update = chain.cm.functions.startExitThreadWithUpdate(
            sender.address, [sender.address, receiver], initial.thread_id, list(initial.wei),
            list(initial.token), proof, sign(sender, leaf), list(update.wei), list(update.token),
            update.tx_count, sign(sender, update.hash(chain.cm.address)))
        assert _reason(with_update, chain.hub.address) == ""

        wrong = dataclasses.replace(initial, thread_id=(initial.thread_id + 1) % 2**256)
        bad = chain.cm.functions.startExitThread(
            sender.address, sender.address, receiver, wrong.thread_id, list(wrong.wei),
            list(wrong.token), proof, sign(sender, leaf))
        assert "signature invalid" in _reason(bad, chain.hub.address)
    finally:
        chain.revert()
