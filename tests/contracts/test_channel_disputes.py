"""startExit, startExitWithUpdate, emptyChannelWithChallenge and emptyChannel, end to end with
time travel."""

from __future__ import annotations

import pytest

from tests.contracts.chain import (
    CHALLENGE_PERIOD,
    RESERVE_TOKENS,
    RESERVE_WEI,
    ZERO_ADDRESS,
    Chain,
    State,
    sign,
)

pytestmark = pytest.mark.chain

ETH = 10**18
OPEN, CHANNEL_DISPUTE, THREAD_DISPUTE = 0, 1, 2


def _funded(chain: Chain) -> State:
    """alice: 3 ETH + 4 tokens of her own, the hub 1 ETH + 6 tokens; on-chain txCount (1, 1)."""
    alice = chain.actor("alice")
    return chain.open_channel(alice, user_wei=3 * ETH, hub_wei=ETH, user_token=4 * ETH, hub_token=6 * ETH)


def _pay(state: State, wei_to_hub: int, steps: int = 1) -> State:
    """An off-chain payment from the user to the hub, `steps` updates later."""
    return state.replace(wei=(state.wei[0] + wei_to_hub, state.wei[1] - wei_to_hub),
                         tx_count=(state.tx_count[0] + steps, state.tx_count[1]))


# --- startExit -----------------------------------------------------------------------------


@pytest.mark.parametrize("initiator", ["user", "hub"])
def test_start_exit_opens_a_dispute(chain: Chain, initiator: str) -> None:
    alice = chain.actor("alice")
    _funded(chain)
    sender = alice if initiator == "user" else chain.hub
    receipt = chain.transact(chain.cm.functions.startExit(alice.address), sender)
    when = chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert chain.details(alice.address)[4:] == (sender.address, when + CHALLENGE_PERIOD, CHANNEL_DISPUTE)
    [event] = chain.events(receipt, "DidStartExitChannel")
    assert event["senderIdx"] == (1 if initiator == "user" else 0)
    assert event["weiBalances"] == [ETH, 3 * ETH] and event["tokenBalances"] == [6 * ETH, 4 * ETH]
    assert event["txCount"] == [1, 1]


def test_start_exit_requires(chain: Chain) -> None:
    alice, eve = chain.actor("alice"), chain.actor("eve")
    _funded(chain)
    start = chain.cm.functions.startExit
    assert "user can not be hub" in chain.revert_reason(start(chain.hub.address), chain.hub)
    assert "user can not be channel manager" in chain.revert_reason(start(chain.cm.address), chain.hub)
    assert "exit initiator must be user or hub" in chain.revert_reason(start(alice.address), eve)
    chain.transact(start(alice.address), alice)
    assert "channel must be open" in chain.revert_reason(start(alice.address), chain.hub)


# --- emptyChannel --------------------------------------------------------------------------


def test_anyone_empties_the_channel_after_the_closing_time(chain: Chain) -> None:
    alice, eve = chain.actor("alice"), chain.actor("eve")
    _funded(chain)
    chain.transact(chain.cm.functions.startExit(alice.address), alice)
    assert "closing time must have passed" in chain.revert_reason(
        chain.cm.functions.emptyChannel(alice.address), eve)
    assert "closing time must have passed" in chain.revert_reason(
        chain.cm.functions.emptyChannel(alice.address), alice)  # the initiator must wait too
    chain.advance(CHALLENGE_PERIOD + 1)

    alice_eth, alice_tokens = chain.eth(alice.address), chain.tokens(alice.address)
    receipt = chain.transact(chain.cm.functions.emptyChannel(alice.address), eve)
    assert chain.eth(alice.address) == alice_eth + 3 * ETH
    assert chain.tokens(alice.address) == alice_tokens + 4 * ETH
    assert chain.balances(alice.address) == (0, 0, 0, 0, 0, 0)
    assert chain.details(alice.address) == (1, 1, b"\x00" * 32, 0, ZERO_ADDRESS, 0, OPEN)
    # The hub's share went back to the reserves.
    assert chain.reserves() == (RESERVE_WEI - 3 * ETH, RESERVE_TOKENS - 4 * ETH)
    [event] = chain.events(receipt, "DidEmptyChannel")
    assert event["user"] == alice.address and event["weiBalances"] == [0, 0]
    chain.assert_solvent()


def test_the_other_party_may_empty_at_once(chain: Chain) -> None:
    alice = chain.actor("alice")
    _funded(chain)
    chain.transact(chain.cm.functions.startExit(alice.address), alice)
    receipt = chain.transact(chain.cm.functions.emptyChannel(alice.address), chain.hub)
    assert chain.events(receipt, "DidEmptyChannel")[0]["senderIdx"] == 0
    assert chain.details(alice.address)[6] == OPEN
    chain.assert_solvent()


def test_empty_channel_requires(chain: Chain) -> None:
    alice = chain.actor("alice")
    _funded(chain)
    empty = chain.cm.functions.emptyChannel
    assert "user can not be hub" in chain.revert_reason(empty(chain.hub.address), chain.hub)
    assert "user can not be channel manager" in chain.revert_reason(empty(chain.cm.address), chain.hub)
    assert "channel must be in dispute" in chain.revert_reason(empty(alice.address), chain.hub)


def test_a_user_can_deposit_again_after_an_exit(chain: Chain) -> None:
    alice = chain.actor("alice")
    _funded(chain)
    chain.transact(chain.cm.functions.startExit(alice.address), chain.hub)
    chain.transact(chain.cm.functions.emptyChannel(alice.address), alice)
    again = State(user=alice.address, tx_count=(2, 2), pending_wei=(0, 0, ETH, 0))
    chain.transact(chain.user_update(again), alice, value=ETH)
    assert chain.balances(alice.address)[:3] == (0, ETH, ETH)
    chain.assert_solvent()


# --- startExitWithUpdate -------------------------------------------------------------------


def test_exit_with_a_newer_state(chain: Chain) -> None:
    alice = chain.actor("alice")
    state = _pay(_funded(chain), ETH, steps=5)
    receipt = chain.transact(chain.double_signed("startExitWithUpdate", state), chain.hub)
    assert chain.balances(alice.address) == (2 * ETH, 2 * ETH, 4 * ETH, 6 * ETH, 4 * ETH, 10 * ETH)
    # Only the global txCount moves; the chain count belongs to the authorized updates.
    assert chain.details(alice.address)[:2] == (state.tx_count[0], 1)
    [event] = chain.events(receipt, "DidStartExitChannel")
    assert event["weiBalances"] == [2 * ETH, 2 * ETH] and event["txCount"] == [state.tx_count[0], 1]
    assert event["senderIdx"] == 0


def test_exit_with_update_reverts_a_withdrawal_that_never_ran(chain: Chain) -> None:
    alice = chain.actor("alice")
    state = _funded(chain)  # user 3 ETH on-chain, txCount (1, 1)
    # A withdrawal of 1 ETH was signed (txCountChain 2) but never sent: the balance already lost it.
    unsent = state.replace(wei=(ETH, 2 * ETH), pending_wei=(0, 0, 0, ETH), tx_count=(3, 2))
    chain.transact(chain.double_signed("startExitWithUpdate", unsent), alice)
    assert chain.balances(alice.address)[:3] == (ETH, 3 * ETH, 4 * ETH)


def test_exit_with_update_ignores_a_deposit_that_never_ran(chain: Chain) -> None:
    alice = chain.actor("alice")
    state = _funded(chain)
    unsent = state.replace(pending_wei=(0, 0, 5 * ETH, 0), pending_token=(7 * ETH, 0, 0, 0), tx_count=(3, 2))
    chain.transact(chain.double_signed("startExitWithUpdate", unsent), alice)
    assert chain.balances(alice.address) == (ETH, 3 * ETH, 4 * ETH, 6 * ETH, 4 * ETH, 10 * ETH)


def test_exit_with_update_applies_pending_operations_that_ran(chain: Chain) -> None:
    alice = chain.actor("alice")
    pending = State(user=alice.address, tx_count=(1, 1), pending_wei=(ETH, 0, 3 * ETH, 0))
    chain.transact(chain.hub_update(pending), chain.hub)
    # The same pending values under a later global count: the deposit ran (txCountChain matches),
    # so it is folded into the balances.
    later = pending.replace(tx_count=(2, 1))
    chain.transact(chain.double_signed("startExitWithUpdate", later), alice)
    assert chain.balances(alice.address)[:3] == (ETH, 3 * ETH, 4 * ETH)


def test_exit_with_update_requires(chain: Chain) -> None:
    alice, eve = chain.actor("alice"), chain.actor("eve")
    state = _pay(_funded(chain), ETH)
    digest = state.hash(chain.cm.address)
    exit_ = "startExitWithUpdate"

    def reason(s: State, sender=chain.hub, **sigs: str) -> str:
        return chain.revert_reason(chain.double_signed(exit_, s, **sigs), sender)

    assert "exit initiator must be user or hub" in reason(state, eve)
    assert "can't start exit with time-sensitive states" in reason(state.replace(timeout=chain.now() + 100))
    assert "hub signature invalid" in reason(state, sig_hub=sign(eve, digest))
    assert "user signature invalid" in reason(state, sig_user=sign(eve, digest))
    assert "user signature invalid" in reason(state, sig_user=sign(chain.hub, digest))
    onchain = chain.details(alice.address)[:2]
    assert "global txCount must be higher" in reason(state.replace(tx_count=onchain))
    assert "onchain txCount must be higher or equal" in reason(state.replace(tx_count=(9, 0)))
    assert "wei must be conserved" in reason(state.replace(wei=(ETH, 4 * ETH)))
    assert "tokens must be conserved" in reason(state.replace(token=(6 * ETH, 5 * ETH)))
    # Reverting a 2-ETH withdrawal on top of balances that already fill the channel would create
    # wei out of nothing (the original let this through and then locked the channel).
    assert "channel wei balances exceed channel total" in reason(
        state.replace(wei=(ETH, 3 * ETH), pending_wei=(0, 0, 0, 2 * ETH), tx_count=(5, 2)))
    assert "thread root and count disagree" in reason(state.replace(thread_count=1))
    hub_state = State(user=chain.hub.address, tx_count=(1, 0))
    assert "user can not be hub" in chain.revert_reason(
        chain.double_signed(exit_, hub_state, sig_user=sign(chain.hub, hub_state.hash(chain.cm.address))),
        chain.hub)

    chain.transact(chain.double_signed(exit_, state), alice)
    assert "channel must be open" in reason(_pay(state, 0))


# --- emptyChannelWithChallenge ---------------------------------------------------------------


def test_hub_defeats_a_stale_exit_with_its_latest_state(chain: Chain) -> None:
    """The core channel risk (threats C4): the user exits with an old state in which she had
    more; the hub answers with the latest one before the closing time and that one is paid."""
    alice = chain.actor("alice")
    old = _pay(_funded(chain), 0)
    latest = _pay(old, 2 * ETH, steps=50)
    chain.transact(chain.double_signed("startExitWithUpdate", old), alice)
    chain.advance(CHALLENGE_PERIOD // 2)

    alice_eth = chain.eth(alice.address)
    receipt = chain.transact(chain.double_signed("emptyChannelWithChallenge", latest), chain.hub)
    assert chain.eth(alice.address) == alice_eth + ETH  # 3 - 2 paid to the hub
    assert chain.balances(alice.address) == (0, 0, 0, 0, 0, 0)
    assert chain.details(alice.address) == (latest.tx_count[0], 1, b"\x00" * 32, 0, ZERO_ADDRESS, 0, OPEN)
    assert chain.reserves()[0] == RESERVE_WEI - ETH  # hub got 1 + 2 back, spent 1 + 3 on deposits
    [event] = chain.events(receipt, "DidEmptyChannel")
    assert event["senderIdx"] == 0 and event["txCount"] == [latest.tx_count[0], 1]
    chain.assert_solvent()


def test_user_challenges_a_hub_exit(chain: Chain) -> None:
    alice = chain.actor("alice")
    old = _funded(chain)
    latest = _pay(old, -ETH, steps=3)  # the hub paid alice 1 ETH off-chain
    chain.transact(chain.cm.functions.startExit(alice.address), chain.hub)
    alice_eth = chain.eth(alice.address)
    receipt = chain.transact(chain.double_signed("emptyChannelWithChallenge", latest), alice)
    gas = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert chain.eth(alice.address) == alice_eth + 4 * ETH - gas
    chain.assert_solvent()


def test_challenge_with_threads_leaves_a_thread_dispute(chain: Chain) -> None:
    alice = chain.actor("alice")
    state = _funded(chain)
    chain.transact(chain.cm.functions.startExit(alice.address), alice)
    with_threads = state.replace(wei=(ETH, 2 * ETH), tx_count=(4, 1), thread_root=b"\x05" * 32, thread_count=1)
    chain.transact(chain.double_signed("emptyChannelWithChallenge", with_threads), chain.hub)
    details = chain.details(alice.address)
    assert details[6] == THREAD_DISPUTE and details[3] == 1 and details[4] == ZERO_ADDRESS
    assert chain.balances(alice.address)[2] == ETH  # the thread's 1 ETH stays in the channel
    chain.assert_solvent()


def test_challenge_requires(chain: Chain) -> None:
    alice, eve = chain.actor("alice"), chain.actor("eve")
    state = _pay(_funded(chain), ETH, steps=2)
    challenge = "emptyChannelWithChallenge"
    assert "channel must be in dispute" in chain.revert_reason(chain.double_signed(challenge, state), chain.hub)

    chain.transact(chain.cm.functions.startExit(alice.address), alice)
    assert "challenger can not be exit initiator" in chain.revert_reason(
        chain.double_signed(challenge, state), alice)
    assert "challenger must be either user or hub" in chain.revert_reason(
        chain.double_signed(challenge, state), eve)
    assert "time-sensitive" in chain.revert_reason(
        chain.double_signed(challenge, state.replace(timeout=chain.now() + 50)), chain.hub)
    assert "user signature invalid" in chain.revert_reason(
        chain.double_signed(challenge, state, sig_user=sign(eve, state.hash(chain.cm.address))), chain.hub)
    assert "global txCount must be higher" in chain.revert_reason(
        chain.double_signed(challenge, state.replace(tx_count=(1, 1))), chain.hub)
    assert "wei must be conserved" in chain.revert_reason(
        chain.double_signed(challenge, state.replace(wei=(5 * ETH, 0))), chain.hub)

    chain.advance(CHALLENGE_PERIOD + 1)
    assert "closing time must not have passed" in chain.revert_reason(
        chain.double_signed(challenge, state), chain.hub)
