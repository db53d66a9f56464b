"""Thread disputes: startExitThread(+WithUpdate), challengeThread, emptyThread, nukeThreads, and the
Merkle inclusion rules (no zero-root bypass)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount

from tests.contracts.chain import (
    CHALLENGE_PERIOD,
    RESERVE_WEI,
    ZERO32,
    Chain,
    State,
    ThreadState,
    merkle_proof,
    merkle_root,
    sign,
)

pytestmark = pytest.mark.chain

ETH = 10**18
OPEN, CHANNEL_DISPUTE, THREAD_DISPUTE = 0, 1, 2


@dataclass
class Threads:
    alice: LocalAccount  # sender
    bob: LocalAccount  # receiver
    initial: ThreadState
    others: list[ThreadState]  # more initial states in the same roots

    def leaves(self, chain: Chain) -> list[bytes]:
        return [t.hash(chain.cm.address) for t in [self.initial, *self.others]]

    def proof(self, chain: Chain, thread: ThreadState | None = None) -> bytes:
        leaf = (thread or self.initial).hash(chain.cm.address)
        leaves = self.leaves(chain)
        return merkle_proof(leaf, leaves) if leaf in leaves else leaf

    def sig(self, chain: Chain, thread: ThreadState | None = None) -> str:
        return sign(self.alice, (thread or self.initial).hash(chain.cm.address))


def _into_thread_dispute(chain: Chain, user: LocalAccount, state: State) -> None:
    """The user exits with `state` (which has open threads), the hub empties at once."""
    chain.transact(chain.double_signed("startExitWithUpdate", state), user)
    chain.transact(chain.cm.functions.emptyChannel(user.address), chain.hub)
    assert chain.details(user.address)[6] == THREAD_DISPUTE


def _setup(chain: Chain, *, dispute_bob: bool = True) -> Threads:
    alice, bob, carol = chain.actor("alice"), chain.actor("bob"), chain.actor("carol")
    initial = ThreadState(alice.address, bob.address, 1, wei=(2 * ETH, 0), token=(0, 0))
    # Another open thread of alice's (to carol) makes the root a real tree.
    other = ThreadState(alice.address, carol.address, 1, wei=(ETH, 0))
    threads = Threads(alice, bob, initial, [other])
    root = merkle_root(threads.leaves(chain))

    a = chain.open_channel(alice, user_wei=5 * ETH)
    _into_thread_dispute(chain, alice, a.replace(wei=(0, 2 * ETH), tx_count=(3, 1), thread_root=root, thread_count=2))
    if dispute_bob:
        b = chain.open_channel(bob, hub_wei=4 * ETH)
        bob_root = merkle_root([initial.hash(chain.cm.address)])
        _into_thread_dispute(chain, bob, b.replace(wei=(2 * ETH, 0), tx_count=(3, 1),
                                                   thread_root=bob_root, thread_count=1))
    return threads


def _start(chain: Chain, t: Threads, user: LocalAccount, sender: LocalAccount | None = None,
           thread: ThreadState | None = None, proof: bytes | None = None, sig: str | None = None):
    thread = thread or t.initial
    fn = chain.cm.functions.startExitThread(
        user.address, thread.sender, thread.receiver, thread.thread_id, list(thread.wei),
        list(thread.token), t.proof(chain, thread) if proof is None else proof,
        t.sig(chain, thread) if sig is None else sig,
    )
    return fn, (sender or user)


def _bob_proof(chain: Chain, t: Threads) -> bytes:
    return merkle_proof(t.initial.hash(chain.cm.address), [t.initial.hash(chain.cm.address)])


def test_full_thread_dispute_settles_both_channels(chain: Chain) -> None:
    t = _setup(chain)
    alice, bob = t.alice, t.bob
    fn, sender = _start(chain, t, alice)
    receipt = chain.transact(fn, sender)
    [event] = chain.events(receipt, "DidStartExitThread")
    assert (event["user"], event["senderAddress"], event["txCount"]) == (alice.address, alice.address, 0)
    assert chain.cm.functions.getThread(alice.address, bob.address, 1).call()[:5] == [2 * ETH, 0, 0, 0, 0]

    # bob answers with the latest thread state alice signed: 1.5 ETH paid to him.
    latest = ThreadState(alice.address, bob.address, 1, wei=(ETH // 2, 3 * ETH // 2), tx_count=7)
    receipt = chain.transact(chain.cm.functions.challengeThread(
        alice.address, bob.address, 1, list(latest.wei), list(latest.token), 7,
        sign(alice, latest.hash(chain.cm.address))), bob)
    assert chain.events(receipt, "DidChallengeThread")[0]["senderAddress"] == bob.address
    assert chain.cm.functions.getThread(alice.address, bob.address, 1).call()[:5] == [ETH // 2, 3 * ETH // 2, 0, 0, 7]

    chain.advance(CHALLENGE_PERIOD + 1)
    reserve_before = chain.reserves()[0]
    alice_eth, bob_eth = chain.eth(alice.address), chain.eth(bob.address)
    empty = chain.cm.functions.emptyThread
    r1 = chain.transact(empty(alice.address, alice.address, bob.address, 1, [2 * ETH, 0], [0, 0],
                              t.proof(chain), t.sig(chain)), chain.hub)
    r2 = chain.transact(empty(bob.address, alice.address, bob.address, 1, [2 * ETH, 0], [0, 0],
                              _bob_proof(chain, t), t.sig(chain)), chain.hub)
    assert chain.eth(alice.address) == alice_eth + ETH // 2
    assert chain.eth(bob.address) == bob_eth + 3 * ETH // 2
    # Each channel gave up the whole thread; the other side's share returned to the hub.
    assert chain.reserves()[0] == reserve_before + 3 * ETH // 2 + ETH // 2
    assert chain.cm.functions.getThread(alice.address, bob.address, 1).call()[6:] == [True, True]
    # bob's only thread is done: his channel re-opens; alice still has the thread to carol.
    assert chain.details(bob.address)[2:4] == (ZERO32, 0) and chain.details(bob.address)[6] == OPEN
    assert chain.details(alice.address)[3] == 1 and chain.details(alice.address)[6] == THREAD_DISPUTE
    [event] = chain.events(r1, "DidEmptyThread")
    assert event["channelThreadCount"] == 1 and event["senderAddress"] == chain.hub.address
    assert chain.events(r2, "DidEmptyThread")[0]["channelThreadRoot"] == ZERO32
    chain.assert_solvent()


def test_start_exit_thread_with_update(chain: Chain) -> None:
    t = _setup(chain)
    alice, bob = t.alice, t.bob
    update = ThreadState(alice.address, bob.address, 1, wei=(ETH, ETH), tx_count=3)
    fn = chain.cm.functions.startExitThreadWithUpdate(
        bob.address, [alice.address, bob.address], 1, [2 * ETH, 0], [0, 0], _bob_proof(chain, t),
        t.sig(chain), list(update.wei), list(update.token), 3, sign(alice, update.hash(chain.cm.address)))
    receipt = chain.transact(fn, chain.hub)
    [event] = chain.events(receipt, "DidStartExitThread")
    # The original put `msg.sender == hub ? 0 : 1` into this address field; we emit the caller.
    assert event["senderAddress"] == chain.hub.address and event["txCount"] == 3
    assert chain.cm.functions.getThread(alice.address, bob.address, 1).call()[:5] == [ETH, ETH, 0, 0, 3]


def test_start_exit_thread_with_update_requires(chain: Chain) -> None:
    t = _setup(chain)
    alice, bob = t.alice, t.bob

    def call(wei=(ETH, ETH), tx=3, signer=None, sender=None):
        update = ThreadState(alice.address, bob.address, 1, wei=wei, tx_count=tx)
        fn = chain.cm.functions.startExitThreadWithUpdate(
            bob.address, [alice.address, bob.address], 1, [2 * ETH, 0], [0, 0], _bob_proof(chain, t),
            t.sig(chain), list(update.wei), [0, 0], tx, sign(signer or alice, update.hash(chain.cm.address)))
        return chain.revert_reason(fn, sender or bob)

    assert "thread exit initiator must be user or hub" in call(sender=chain.actor("eve"))
    assert "updated thread txCount must be higher than 0" in call(tx=0)
    assert "sum of updated wei balances must match" in call(wei=(ETH, ETH + 1))
    assert "signature invalid" in call(signer=bob)


def test_start_exit_thread_requires(chain: Chain) -> None:
    t = _setup(chain)
    alice, bob, eve = t.alice, t.bob, chain.actor("eve")
    carol = chain.actor("carol")

    def reason(**kw) -> str:
        fn, sender = _start(chain, t, **kw)
        return chain.revert_reason(fn, sender)

    assert "thread exit initiator must be user or hub" in reason(user=alice, sender=eve)
    assert "channel must be in thread dispute phase" in reason(user=carol, sender=carol,
                                                                thread=t.others[0])
    assert "user must be thread sender or receiver" in reason(user=alice, thread=ThreadState(
        bob.address, carol.address, 1, wei=(ETH, 0)))
    assert "initial receiver balances must be zero" in reason(user=alice, thread=ThreadState(
        alice.address, bob.address, 1, wei=(2 * ETH, 1)))
    assert "signature invalid" in reason(user=alice, sig=sign(bob, t.initial.hash(chain.cm.address)))
    assert "sender can not be receiver" in reason(user=alice, thread=ThreadState(
        alice.address, alice.address, 1, wei=(ETH, 0)))
    assert "hub can not be sender or receiver" in reason(user=alice, thread=ThreadState(
        alice.address, chain.hub.address, 1, wei=(ETH, 0)))
    assert "channel manager can not be sender or receiver" in reason(user=alice, thread=ThreadState(
        alice.address, chain.cm.address, 1, wei=(ETH, 0)))
    not_in_root = ThreadState(alice.address, bob.address, 2, wei=(ETH, 0))
    assert "not contained in threadRoot" in reason(user=alice, thread=not_in_root,
                                                   proof=not_in_root.hash(chain.cm.address))

    chain.transact(*_start(chain, t, alice))
    assert "thread closing time must be zero" in reason(user=alice)


def test_inclusion_proofs_are_always_checked(chain: Chain) -> None:
    """No proof, a proof of another leaf, a proof without the leaf first, a truncated proof or a
    proof against the zero root never admit an initial state (the v1 "inclusion bypass")."""
    t = _setup(chain)
    alice = t.alice
    leaf = t.initial.hash(chain.cm.address)
    good = t.proof(chain)
    other_leaf = t.others[0].hash(chain.cm.address)
    bad_proofs = [
        b"",
        leaf,  # the leaf alone: the root is not the leaf
        good[32:],  # siblings without the leaf
        merkle_proof(other_leaf, t.leaves(chain)),  # carol's path
        other_leaf + good[32:],  # the leaf slot holds another hash
        good[:-1],  # not a multiple of 32 bytes
        good + b"\x00" * 32,  # an extra level
        ZERO32,
    ]
    for proof in bad_proofs:
        fn, sender = _start(chain, t, alice, proof=proof)
        assert "not contained in threadRoot" in chain.revert_reason(fn, sender), proof.hex()
    chain.transact(*_start(chain, t, alice, proof=good))


def test_a_thread_dispute_cannot_start_with_a_zero_root(chain: Chain) -> None:
    alice = chain.actor("alice")
    state = chain.open_channel(alice, user_wei=ETH)
    chain.transact(chain.cm.functions.startExit(alice.address), alice)
    zero_root = state.replace(tx_count=(5, 1), wei=(0, 0), thread_root=ZERO32, thread_count=1)
    assert "thread root and count disagree" in chain.revert_reason(
        chain.double_signed("emptyChannelWithChallenge", zero_root), chain.hub)


def test_challenge_thread_requires(chain: Chain) -> None:
    t = _setup(chain)
    alice, bob, eve = t.alice, t.bob, chain.actor("eve")

    def reason(wei=(ETH, ETH), tx=5, signer=None, sender=None) -> str:
        s = ThreadState(alice.address, bob.address, 1, wei=wei, tx_count=tx)
        fn = chain.cm.functions.challengeThread(alice.address, bob.address, 1, list(wei), [0, 0], tx,
                                                sign(signer or alice, s.hash(chain.cm.address)))
        return chain.revert_reason(fn, sender or bob)

    assert "only hub, sender, or receiver" in reason(sender=eve)
    assert "thread closing time must not have passed" in reason()  # no dispute yet
    chain.transact(*_start(chain, t, alice))
    assert "thread txCount must be higher" in reason(tx=0)
    assert "updated wei balances must match sum" in reason(wei=(ETH, ETH + 1))
    assert "signature invalid" in reason(signer=bob)
    chain.transact(chain.cm.functions.challengeThread(
        alice.address, bob.address, 1, [ETH, ETH], [0, 0], 5,
        sign(alice, ThreadState(alice.address, bob.address, 1, wei=(ETH, ETH), tx_count=5).hash(chain.cm.address))),
        alice)
    assert "receiver balances may never decrease" in reason(wei=(3 * ETH // 2, ETH // 2), tx=6)
    assert "thread txCount must be higher" in reason(tx=5)
    chain.advance(CHALLENGE_PERIOD + 1)
    assert "thread closing time must not have passed" in reason(wei=(0, 2 * ETH), tx=9)


def test_empty_thread_requires(chain: Chain) -> None:
    t = _setup(chain)
    alice, bob, eve = t.alice, t.bob, chain.actor("eve")
    empty = chain.cm.functions.emptyThread

    def reason(user: LocalAccount, sender: LocalAccount, wei=(2 * ETH, 0), proof=None) -> str:
        fn = empty(user.address, alice.address, bob.address, 1, list(wei), [0, 0],
                   t.proof(chain) if proof is None else proof, t.sig(chain))
        return chain.revert_reason(fn, sender)

    assert "Thread closing time must have passed" in reason(alice, alice)
    chain.transact(*_start(chain, t, alice))
    assert "Thread closing time must have passed" in reason(alice, alice)
    chain.advance(CHALLENGE_PERIOD + 1)
    assert "only hub or user can empty thread" in reason(alice, eve)
    assert "channel must be in thread dispute" in reason(eve, eve)
    assert "initial receiver balances must be zero" in reason(alice, alice, wei=(2 * ETH, 1))
    assert "not contained in threadRoot" in reason(alice, alice, proof=b"")
    chain.transact(empty(alice.address, alice.address, bob.address, 1, [2 * ETH, 0], [0, 0],
                         t.proof(chain), t.sig(chain)), alice)
    assert "user cannot empty twice" in reason(alice, alice)


def test_empty_thread_needs_the_disputed_amount(chain: Chain) -> None:
    """A root holding two initial states for one thread id cannot pay out the larger one for a
    dispute that ran on the smaller."""
    alice, bob = chain.actor("alice"), chain.actor("bob")
    small = ThreadState(alice.address, bob.address, 1, wei=(ETH, 0))
    large = ThreadState(alice.address, bob.address, 1, wei=(2 * ETH, 0))
    leaves = [small.hash(chain.cm.address), large.hash(chain.cm.address)]
    a = chain.open_channel(alice, user_wei=5 * ETH)
    _into_thread_dispute(chain, alice, a.replace(wei=(0, 2 * ETH), tx_count=(3, 1),
                                                 thread_root=merkle_root(leaves), thread_count=2))
    chain.transact(chain.cm.functions.startExitThread(
        alice.address, alice.address, bob.address, 1, [ETH, 0], [0, 0],
        merkle_proof(leaves[0], leaves), sign(alice, leaves[0])), alice)
    chain.advance(CHALLENGE_PERIOD + 1)
    assert "sum of thread wei balances must match" in chain.revert_reason(chain.cm.functions.emptyThread(
        alice.address, alice.address, bob.address, 1, [2 * ETH, 0], [0, 0],
        merkle_proof(leaves[1], leaves), sign(alice, leaves[1])), alice)


def test_nuke_threads_pays_everything_left_to_the_user(chain: Chain) -> None:
    t = _setup(chain, dispute_bob=False)
    alice, eve = t.alice, chain.actor("eve")
    nuke = chain.cm.functions.nukeThreads
    assert "closing time must have passed by 10 challenge periods" in chain.revert_reason(nuke(alice.address), eve)
    chain.advance(11 * CHALLENGE_PERIOD + 1)
    alice_eth = chain.eth(alice.address)
    receipt = chain.transact(nuke(alice.address), eve)
    assert chain.eth(alice.address) == alice_eth + 3 * ETH  # both threads' locked funds
    assert chain.balances(alice.address) == (0, 0, 0, 0, 0, 0)
    assert chain.details(alice.address)[2:] == (ZERO32, 0, "0x" + "00" * 20, 0, OPEN)
    [event] = chain.events(receipt, "DidNukeThreads")
    assert (event["senderAddress"], event["weiAmount"], event["tokenAmount"]) == (eve.address, 3 * ETH, 0)
    # alice's 5 ETH came out of the reserves (a hub-authorized deposit) and all of it went to her.
    assert chain.reserves()[0] == RESERVE_WEI - 5 * ETH
    chain.assert_solvent()


def test_nuke_threads_requires(chain: Chain) -> None:
    nuke = chain.cm.functions.nukeThreads
    alice = chain.actor("alice")
    assert "user can not be hub" in chain.revert_reason(nuke(chain.hub.address), alice)
    assert "user can not be channel manager" in chain.revert_reason(nuke(chain.cm.address), alice)
    assert "channel must be in thread dispute" in chain.revert_reason(nuke(alice.address), alice)
