"""hubContractWithdraw, hubAuthorizedUpdate and userAuthorizedUpdate: success paths and every
require."""

from __future__ import annotations

import pytest

from tests.contracts.chain import (
    RESERVE_TOKENS,
    RESERVE_WEI,
    ZERO32,
    ZERO_ADDRESS,
    Chain,
    State,
    sign,
)

pytestmark = pytest.mark.chain

ETH = 10**18


# --- hubContractWithdraw -------------------------------------------------------------------


def test_hub_withdraws_reserves(chain: Chain) -> None:
    hub_eth, hub_tokens = chain.eth(chain.hub.address), chain.tokens(chain.hub.address)
    receipt = chain.transact(chain.cm.functions.hubContractWithdraw(3 * ETH, 7 * ETH), chain.hub)
    assert chain.events(receipt, "DidHubContractWithdraw") == [{"weiAmount": 3 * ETH, "tokenAmount": 7 * ETH}]
    assert chain.reserves() == (RESERVE_WEI - 3 * ETH, RESERVE_TOKENS - 7 * ETH)
    gas = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert chain.eth(chain.hub.address) == hub_eth + 3 * ETH - gas
    assert chain.tokens(chain.hub.address) == hub_tokens + 7 * ETH
    chain.assert_solvent()


def test_only_the_hub_withdraws_reserves(chain: Chain) -> None:
    fn = chain.cm.functions.hubContractWithdraw(1, 1)
    assert "only the hub" in chain.revert_reason(fn, chain.actor("eve"))


def test_hub_cannot_withdraw_more_than_the_reserves(chain: Chain) -> None:
    alice = chain.actor("alice")
    chain.open_channel(alice, hub_wei=10 * ETH, hub_token=10 * ETH)
    reserve_wei, reserve_tokens = chain.reserves()
    assert reserve_wei == RESERVE_WEI - 10 * ETH
    assert "wei funds not sufficient" in chain.revert_reason(
        chain.cm.functions.hubContractWithdraw(reserve_wei + 1, 0), chain.hub)
    assert "token funds not sufficient" in chain.revert_reason(
        chain.cm.functions.hubContractWithdraw(0, reserve_tokens + 1), chain.hub)
    chain.transact(chain.cm.functions.hubContractWithdraw(reserve_wei, reserve_tokens), chain.hub)
    assert chain.reserves() == (0, 0)
    chain.assert_solvent()


def test_plain_transfers_fund_the_reserves(chain: Chain) -> None:
    eve = chain.actor("eve")
    chain.transact(chain.token.functions.mint(eve.address, 5), chain.hub)
    chain.transact(chain.token.functions.transfer(chain.cm.address, 5), eve)
    signed = eve.sign_transaction({
        "to": chain.cm.address, "value": 9, "gas": 50_000, "chainId": chain.w3.eth.chain_id,
        "nonce": chain.w3.eth.get_transaction_count(eve.address), "maxFeePerGas": 10**11,
        "maxPriorityFeePerGas": 10**9,
    })
    chain.w3.eth.wait_for_transaction_receipt(chain.w3.eth.send_raw_transaction(signed.raw_transaction))
    assert chain.reserves() == (RESERVE_WEI + 9, RESERVE_TOKENS + 5)


# --- hubAuthorizedUpdate -------------------------------------------------------------------


def test_hub_deposit_into_a_new_channel_comes_from_reserves(chain: Chain) -> None:
    alice = chain.actor("alice")
    state = State(user=alice.address, tx_count=(1, 1), pending_wei=(2 * ETH, 0, 3 * ETH, 0),
                  pending_token=(5 * ETH, 0, 0, 0), timeout=chain.now() + 600)
    receipt = chain.transact(chain.hub_update(state), chain.hub)

    assert chain.balances(alice.address) == (2 * ETH, 3 * ETH, 5 * ETH, 5 * ETH, 0, 5 * ETH)
    assert chain.details(alice.address)[:2] == (1, 1)
    assert chain.reserves() == (RESERVE_WEI - 5 * ETH, RESERVE_TOKENS - 5 * ETH)
    assert chain.cm.functions.totalChannelWei().call() == 5 * ETH
    assert chain.cm.functions.totalChannelToken().call() == 5 * ETH
    [event] = chain.events(receipt, "DidUpdateChannel")
    assert event["user"] == alice.address and event["senderIdx"] == 0
    assert event["pendingWeiUpdates"] == [2 * ETH, 0, 3 * ETH, 0]
    assert event["txCount"] == [1, 1] and event["weiBalances"] == [0, 0]
    chain.assert_solvent()


def test_hub_authorized_withdrawal_pays_the_recipient(chain: Chain) -> None:
    alice, bob = chain.actor("alice"), chain.actor("bob")
    chain.give_tokens(alice, 0, approve=False)
    state = chain.open_channel(alice, user_wei=4 * ETH, user_token=6 * ETH, hub_token=10 * ETH)
    bob_eth, bob_tokens = chain.eth(bob.address), chain.tokens(bob.address)
    # The user withdraws 1 ETH and 2 tokens to bob (taken out of the balance at once) while the
    # hub takes 3 of its tokens back into the reserves.
    withdraw = state.replace(
        recipient=bob.address, tx_count=(state.tx_count[0] + 1, state.tx_count[1] + 1),
        wei=(0, 3 * ETH), token=(7 * ETH, 4 * ETH),
        pending_wei=(0, 0, 0, ETH), pending_token=(0, 3 * ETH, 0, 2 * ETH),
    )
    chain.transact(chain.hub_update(withdraw), chain.hub)
    assert chain.eth(bob.address) == bob_eth + ETH
    assert chain.tokens(bob.address) == bob_tokens + 2 * ETH
    assert chain.balances(alice.address) == (0, 3 * ETH, 3 * ETH, 7 * ETH, 4 * ETH, 11 * ETH)
    assert chain.reserves() == (RESERVE_WEI - 4 * ETH, RESERVE_TOKENS - 16 * ETH + 3 * ETH)
    chain.assert_solvent()


def _hub_reason(chain: Chain, state: State, sender=None, sig=None) -> str:
    return chain.revert_reason(chain.hub_update(state, sig=sig) if sig else chain.hub_update(state),
                               sender or chain.hub)


def test_hub_authorized_update_requires(chain: Chain) -> None:
    alice, eve = chain.actor("alice"), chain.actor("eve")
    state = chain.open_channel(alice, user_wei=4 * ETH, hub_token=10 * ETH)
    nxt = state.replace(tx_count=(state.tx_count[0] + 1, state.tx_count[1]))
    digest = nxt.hash(chain.cm.address)

    assert "only the hub" in _hub_reason(chain, nxt, sender=eve)
    assert "user can not be hub" in chain.revert_reason(
        chain.cm.functions.hubAuthorizedUpdate(chain.hub.address, chain.hub.address,
                                               *State(user=chain.hub.address).body(),
                                               sign(chain.hub, State(user=chain.hub.address).hash(chain.cm.address))),
        chain.hub)
    assert "user can not be channel manager" in chain.revert_reason(
        chain.cm.functions.hubAuthorizedUpdate(chain.cm.address, chain.cm.address,
                                               *State(user=chain.cm.address).body(), "0x"), chain.hub)
    assert "user can not be the zero address" in chain.revert_reason(
        chain.cm.functions.hubAuthorizedUpdate(ZERO_ADDRESS, ZERO_ADDRESS,
                                               *State(user=ZERO_ADDRESS).body(), "0x"), chain.hub)
    assert "thread root and count disagree" in _hub_reason(chain, nxt.replace(thread_count=1))
    assert "thread root and count disagree" in _hub_reason(chain, nxt.replace(thread_root=b"\x01" * 32))
    assert "timeout must be zero or not have passed" in _hub_reason(chain, nxt.replace(timeout=chain.now() - 1))
    onchain = chain.details(alice.address)[:2]
    assert "global txCount must be higher" in _hub_reason(chain, nxt.replace(tx_count=onchain))
    assert "onchain txCount must be higher or equal" in _hub_reason(
        chain, nxt.replace(tx_count=(nxt.tx_count[0], state.tx_count[1] - 1)))
    assert "wei must be conserved" in _hub_reason(chain, nxt.replace(wei=(1, 4 * ETH)))
    assert "tokens must be conserved" in _hub_reason(chain, nxt.replace(token=(10 * ETH, 1)))
    assert "insufficient reserve wei" in _hub_reason(chain, nxt.replace(pending_wei=(RESERVE_WEI, 0, 1, 0)))
    assert "insufficient reserve tokens" in _hub_reason(
        chain, nxt.replace(pending_token=(1, 0, RESERVE_TOKENS, 0)))
    assert "insufficient wei" in _hub_reason(chain, nxt.replace(pending_wei=(0, 0, 0, 1)))
    assert "insufficient token" in _hub_reason(chain, nxt.replace(pending_token=(0, 1, 0, 0)))
    assert "user signature invalid" in _hub_reason(chain, nxt, sig=sign(eve, digest))
    assert "user signature invalid" in _hub_reason(chain, nxt, sig=sign(chain.hub, digest))
    # Passes every pooled check of the original (total 4 + deposit 1 >= balances 1 + withdrawal
    # 4) but would leave hub + user (1 + 1) above the new channel total (4 + 1 - 4): rejected.
    overdrawn = nxt.replace(wei=(0, ETH), pending_wei=(ETH, 0, 0, 4 * ETH))
    assert "channel wei balances exceed channel total" in _hub_reason(chain, overdrawn)
    overdrawn_tokens = nxt.replace(token=(ETH, 0), pending_token=(0, 10 * ETH, ETH, 0))
    assert "channel token balances exceed channel total" in _hub_reason(chain, overdrawn_tokens)

    chain.transact(chain.hub_update(nxt), chain.hub)  # the unmodified update is fine
    assert chain.details(alice.address)[:2] == nxt.tx_count


def test_authorized_updates_need_an_open_channel(chain: Chain) -> None:
    alice = chain.actor("alice")
    state = chain.open_channel(alice, user_wei=ETH)
    chain.transact(chain.cm.functions.startExit(alice.address), alice)
    nxt = state.replace(tx_count=(state.tx_count[0] + 1, state.tx_count[1]))
    assert "channel must be open" in _hub_reason(chain, nxt)
    assert "channel must be open" in chain.revert_reason(chain.user_update(nxt), alice)


def test_a_timeout_in_the_future_is_accepted_until_it_passes(chain: Chain) -> None:
    alice = chain.actor("alice")
    deadline = chain.now() + 100
    state = State(user=alice.address, tx_count=(1, 1), pending_wei=(0, 0, ETH, 0), timeout=deadline)
    chain.advance(50)
    chain.hub_update(state).call({"from": chain.hub.address})  # still valid
    chain.advance(60)
    assert "timeout must be zero or not have passed" in _hub_reason(chain, state)


# --- userAuthorizedUpdate ------------------------------------------------------------------


def test_user_deposits_eth_and_tokens_with_a_hub_signature(chain: Chain) -> None:
    alice = chain.actor("alice")
    chain.give_tokens(alice, 50 * ETH)
    state = State(user=alice.address, tx_count=(1, 1), pending_wei=(0, 0, 2 * ETH, 0),
                  pending_token=(7 * ETH, 0, 50 * ETH, 0), timeout=chain.now() + 300)
    receipt = chain.transact(chain.user_update(state), alice, value=2 * ETH)

    assert chain.balances(alice.address) == (0, 2 * ETH, 2 * ETH, 7 * ETH, 50 * ETH, 57 * ETH)
    assert chain.tokens(alice.address) == 0
    assert chain.reserves() == (RESERVE_WEI, RESERVE_TOKENS - 7 * ETH)
    [event] = chain.events(receipt, "DidUpdateChannel")
    assert event["senderIdx"] == 1 and event["pendingTokenUpdates"] == [7 * ETH, 0, 50 * ETH, 0]
    chain.assert_solvent()


def test_user_authorized_withdrawal_pays_the_recipient(chain: Chain) -> None:
    alice, carol = chain.actor("alice"), chain.actor("carol")
    state = chain.open_channel(alice, user_wei=3 * ETH)
    carol_eth = chain.eth(carol.address)
    nxt = state.replace(recipient=carol.address, wei=(0, ETH),
                        tx_count=(state.tx_count[0] + 1, state.tx_count[1] + 1),
                        pending_wei=(0, 0, 0, 2 * ETH))
    chain.transact(chain.user_update(nxt), alice)
    assert chain.eth(carol.address) == carol_eth + 2 * ETH
    assert chain.balances(alice.address)[:3] == (0, ETH, ETH)
    chain.assert_solvent()


def test_user_authorized_update_requires(chain: Chain) -> None:
    alice, eve = chain.actor("alice"), chain.actor("eve")
    state = chain.open_channel(alice, user_wei=ETH)
    nxt = state.replace(tx_count=(state.tx_count[0] + 1, state.tx_count[1] + 1),
                        pending_wei=(0, 0, ETH, 0))
    fn = chain.user_update(nxt)

    assert "msg.value is not equal to pending user deposit" in chain.revert_reason(fn, alice, value=ETH - 1)
    assert "hub signature invalid" in chain.revert_reason(
        chain.user_update(nxt, sig=sign(eve, nxt.hash(chain.cm.address))), alice, value=ETH)
    assert "hub signature invalid" in chain.revert_reason(
        chain.user_update(nxt, sig=sign(alice, nxt.hash(chain.cm.address))), alice, value=ETH)
    assert "global txCount must be higher" in chain.revert_reason(
        chain.user_update(nxt.replace(tx_count=chain.details(alice.address)[:2])), alice, value=ETH)
    # Only the hub's own deposit must be covered by reserves: a user deposit brings its own ETH.
    big = nxt.replace(pending_wei=(RESERVE_WEI + 1, 0, 0, 0))
    assert "insufficient reserve wei" in chain.revert_reason(chain.user_update(big), alice)
    big_tokens = nxt.replace(pending_wei=(0, 0, 0, 0), pending_token=(RESERVE_TOKENS + 1, 0, 0, 0))
    assert "insufficient reserve tokens" in chain.revert_reason(chain.user_update(big_tokens), alice)
    # A token deposit without an allowance fails in the token.
    no_allowance = nxt.replace(pending_wei=(0, 0, 0, 0), pending_token=(0, 0, ETH, 0))
    assert "ERC20InsufficientAllowance" in chain.revert_reason(chain.user_update(no_allowance), alice) or \
        "0xfb8f41b2" in chain.revert_reason(chain.user_update(no_allowance), alice)

    chain.transact(fn, alice, value=ETH)
    assert chain.balances(alice.address)[:3] == (0, 2 * ETH, 2 * ETH)


def test_user_eth_deposit_does_not_count_as_hub_reserve(chain: Chain) -> None:
    """The msg.value already sits in the contract balance during the call; it must not cover the
    hub's side of the same update (the original contract let it)."""
    alice = chain.actor("alice")
    chain.transact(chain.cm.functions.hubContractWithdraw(RESERVE_WEI - ETH, 0), chain.hub)
    state = State(user=alice.address, tx_count=(1, 1), pending_wei=(2 * ETH, 0, 2 * ETH, 0))
    assert "insufficient reserve wei" in chain.revert_reason(chain.user_update(state), alice, value=2 * ETH)
    ok = state.replace(pending_wei=(ETH, 0, 2 * ETH, 0))
    chain.transact(chain.user_update(ok), alice, value=2 * ETH)
    assert chain.reserves()[0] == 0
    chain.assert_solvent()


def test_txcounts_persist_and_threads_are_recorded(chain: Chain) -> None:
    alice = chain.actor("alice")
    state = State(user=alice.address, tx_count=(5, 2), thread_root=b"\x07" * 32, thread_count=3)
    chain.transact(chain.hub_update(state), chain.hub)
    assert chain.details(alice.address) == (5, 2, b"\x07" * 32, 3, ZERO_ADDRESS, 0, 0)
    assert chain.cm.functions.channels(alice.address).call() == [b"\x07" * 32, 3, ZERO_ADDRESS, 0, 0]
    cleared = state.replace(tx_count=(6, 2), thread_root=ZERO32, thread_count=0)
    chain.transact(chain.user_update(cleared), alice)
    assert chain.details(alice.address)[:4] == (6, 2, ZERO32, 0)
