"""Hostile tokens and recipients (threats C1, C7, C9): re-entry is refused, a refusing recipient
blocks nobody, non-standard tokens work or are rejected, and the books always balance."""

from __future__ import annotations

import dataclasses

import pytest
from eth_utils import keccak
from web3.contract import Contract

from hub.chain import deploy
from tests.contracts.chain import CHALLENGE_PERIOD, Chain, State, sign

pytestmark = pytest.mark.chain

ETH = 10**18
REENTRANCY_ERROR = keccak(text="ReentrancyGuardReentrantCall()")[:4]


def _with_token(chain: Chain, token_name: str, reserve_tokens: int = 1_000 * ETH) -> Chain:
    """The same node and accounts, with a ChannelManager over another token contract."""
    token, _ = deploy.deploy_contract(chain.w3, chain.hub, token_name)
    manager, _ = deploy.deploy_channel_manager(chain.w3, chain.hub, hub=chain.hub.address,
                                               challenge_period=CHALLENGE_PERIOD, token=token.address)
    other = dataclasses.replace(chain, token=token, cm=manager)
    other.transact(token.functions.mint(chain.hub.address, reserve_tokens), chain.hub)
    other.transact(token.functions.transfer(manager.address, reserve_tokens), chain.hub)
    deploy.send_eth(chain.w3, chain.hub, manager.address, 50 * ETH)
    return other


def _contract_user(chain: Chain, name: str, deposit_wei: int) -> Contract:
    """A contract that holds a channel: it deposits with a hub-signed state through forward()."""
    user, _ = deploy.deploy_contract(chain.w3, chain.hub, name)
    state = State(user=user.address, tx_count=(1, 1), pending_wei=(0, 0, deposit_wei, 0))
    data = chain.cm.encode_abi("userAuthorizedUpdate", args=[
        state.recipient, *state.body(), sign(chain.hub, state.hash(chain.cm.address))])
    chain.transact(user.functions.forward(chain.cm.address, deposit_wei, data), chain.actor("eve"),
                   value=deposit_wei)
    assert chain.balances(user.address)[1] == deposit_wei
    return user


# --- re-entering ETH recipient -------------------------------------------------------------


def _exiting_attacker(chain: Chain) -> Contract:
    """A ReentrantReceiver holding 2 ETH in a channel it has started to exit."""
    attacker = _contract_user(chain, "ReentrantReceiver", 2 * ETH)
    exit_data = chain.cm.encode_abi("startExit", args=[attacker.address])
    chain.transact(attacker.functions.forward(chain.cm.address, 0, exit_data), chain.actor("eve"))
    return attacker


@pytest.mark.parametrize("target", ["emptyChannel", "startExit", "claimDeferred", "hubContractWithdraw"])
def test_reentering_recipient_is_refused(chain: Chain, target: str) -> None:
    cm, eve = chain.cm, chain.actor("eve")
    attacker = _exiting_attacker(chain)
    reentry = {
        "emptyChannel": cm.encode_abi("emptyChannel", args=[attacker.address]),
        "startExit": cm.encode_abi("startExit", args=[attacker.address]),
        "claimDeferred": cm.encode_abi("claimDeferred", args=[attacker.address]),
        "hubContractWithdraw": cm.encode_abi("hubContractWithdraw", args=[ETH, 0]),
    }[target]
    chain.transact(attacker.functions.arm(cm.address, reentry), eve)
    chain.advance(CHALLENGE_PERIOD + 1)

    receipt = chain.transact(cm.functions.emptyChannel(attacker.address), eve)
    assert attacker.functions.reentryAttempts().call() == 1
    assert attacker.functions.reentrySuccesses().call() == 0
    assert attacker.functions.lastRevertData().call() == REENTRANCY_ERROR
    assert chain.eth(attacker.address) == 2 * ETH  # paid once, exactly its balance
    assert chain.events(receipt, "DidDeferPayout") == []
    assert chain.details(attacker.address)[:2] == (1, 1) and chain.details(attacker.address)[6] == 0
    chain.assert_solvent()


def test_recipient_that_burns_the_payout_gas_is_deferred(chain: Chain) -> None:
    """An ETH payout forwards a bounded amount of gas; a recipient that needs more (here: one
    that re-enters with a long, hub-signed update) gets its payout deferred, and nothing else
    changes."""
    cm, eve = chain.cm, chain.actor("eve")
    attacker = _exiting_attacker(chain)
    nxt = State(user=attacker.address, wei=(0, 2 * ETH), tx_count=(3, 1))
    chain.transact(attacker.functions.arm(cm.address, cm.encode_abi("userAuthorizedUpdate", args=[
        nxt.recipient, *nxt.body(), sign(chain.hub, nxt.hash(cm.address))])), eve)
    chain.advance(CHALLENGE_PERIOD + 1)
    receipt = chain.transact(cm.functions.emptyChannel(attacker.address), eve)
    assert chain.events(receipt, "DidDeferPayout") == [
        {"recipient": attacker.address, "weiAmount": 2 * ETH, "tokenAmount": 0}]
    assert attacker.functions.reentryAttempts().call() == 0  # its call was rolled back
    assert chain.eth(attacker.address) == 0
    assert chain.details(attacker.address)[:2] == (1, 1)
    chain.assert_solvent()
    chain.transact(attacker.functions.disarm(), eve)
    claim = cm.encode_abi("claimDeferred", args=[attacker.address])
    chain.transact(attacker.functions.forward(cm.address, 0, claim), eve)
    assert chain.eth(attacker.address) == 2 * ETH
    chain.assert_solvent()


def test_reentering_withdrawal_recipient_is_refused(chain: Chain) -> None:
    alice = chain.actor("alice")
    attacker, _ = deploy.deploy_contract(chain.w3, chain.hub, "ReentrantReceiver")
    state = chain.open_channel(alice, user_wei=3 * ETH)
    withdraw = state.replace(recipient=attacker.address, wei=(0, ETH),
                             tx_count=(state.tx_count[0] + 1, 2), pending_wei=(0, 0, 0, 2 * ETH))
    chain.transact(attacker.functions.arm(chain.cm.address, chain.cm.encode_abi(
        "startExit", args=[alice.address])), chain.actor("eve"))
    chain.transact(chain.hub_update(withdraw), chain.hub)
    assert attacker.functions.reentryAttempts().call() == 1
    assert attacker.functions.lastRevertData().call() == REENTRANCY_ERROR
    assert chain.eth(attacker.address) == 2 * ETH
    assert chain.balances(alice.address)[:3] == (0, ETH, ETH)
    assert chain.details(alice.address)[6] == 0
    chain.assert_solvent()


# --- re-entering token ---------------------------------------------------------------------


@pytest.mark.parametrize("target", ["emptyChannel", "userAuthorizedUpdate", "hubContractWithdraw"])
def test_reentering_token_is_refused_on_deposit_and_payout(chain: Chain, target: str) -> None:
    c = _with_token(chain, "ReentrantToken")
    alice, eve = c.actor("alice"), c.actor("eve")
    token = c.token
    # As the token, a state the hub really signed for the token's own channel: without the guard
    # this re-entry would go through.
    token_state = State(user=token.address, tx_count=(1, 0))
    reentry = {
        "emptyChannel": c.cm.encode_abi("emptyChannel", args=[alice.address]),
        "userAuthorizedUpdate": c.cm.encode_abi("userAuthorizedUpdate", args=[
            token.address, *token_state.body(), sign(c.hub, token_state.hash(c.cm.address))]),
        "hubContractWithdraw": c.cm.encode_abi("hubContractWithdraw", args=[0, ETH]),
    }[target]
    c.transact(token.functions.mint(alice.address, 10 * ETH), alice)
    c.transact(token.functions.approve(c.cm.address, 2**256 - 1), alice)
    c.transact(token.functions.arm(c.cm.address, reentry), eve)

    deposit = State(user=alice.address, tx_count=(1, 1), pending_token=(0, 0, 10 * ETH, 0))
    c.transact(c.user_update(deposit), alice)  # transferFrom re-enters
    assert token.functions.reentryAttempts().call() == 1
    assert token.functions.reentrySuccesses().call() == 0
    assert token.functions.lastRevertData().call() == REENTRANCY_ERROR
    assert c.balances(alice.address)[3:] == (0, 10 * ETH, 10 * ETH)

    c.transact(c.cm.functions.startExit(alice.address), alice)
    c.transact(c.cm.functions.emptyChannel(alice.address), c.hub)  # transfer re-enters
    assert token.functions.reentryAttempts().call() == 2
    assert token.functions.reentrySuccesses().call() == 0
    assert c.tokens(alice.address) == 10 * ETH  # paid once
    assert c.details(token.address)[:2] == (0, 0)
    c.assert_solvent()


# --- recipients that refuse payment --------------------------------------------------------


def test_refused_withdrawal_is_deferred_and_claimable(chain: Chain) -> None:
    alice, bob = chain.actor("alice"), chain.actor("bob")
    refuser, _ = deploy.deploy_contract(chain.w3, chain.hub, "RevertingReceiver")
    chain.give_tokens(alice, 0, approve=False)
    state = chain.open_channel(alice, user_wei=3 * ETH, user_token=5 * ETH)
    withdraw = state.replace(recipient=refuser.address, wei=(0, ETH), token=(0, 4 * ETH),
                             tx_count=(state.tx_count[0] + 1, 2),
                             pending_wei=(0, 0, 0, 2 * ETH), pending_token=(0, 0, 0, ETH))
    reserves = chain.reserves()
    receipt = chain.transact(chain.hub_update(withdraw), chain.hub)
    # The ETH is refused and deferred; the token transfer (no callback) goes through.
    assert chain.events(receipt, "DidDeferPayout") == [
        {"recipient": refuser.address, "weiAmount": 2 * ETH, "tokenAmount": 0}]
    assert chain.cm.functions.deferredWei(refuser.address).call() == 2 * ETH
    assert chain.tokens(refuser.address) == ETH
    assert chain.reserves() == reserves  # deferred funds are not the hub's
    chain.assert_solvent()

    bob_eth = chain.eth(bob.address)
    claim = chain.cm.encode_abi("claimDeferred", args=[bob.address])
    receipt = chain.transact(refuser.functions.forward(chain.cm.address, 0, claim), chain.actor("eve"))
    assert chain.eth(bob.address) == bob_eth + 2 * ETH
    assert chain.events(receipt, "DidClaimDeferred")[0]["weiAmount"] == 2 * ETH
    assert chain.cm.functions.totalDeferredWei().call() == 0
    assert "nothing to claim" in chain.revert_reason(chain.cm.functions.claimDeferred(bob.address), refuser.address)
    chain.assert_solvent()


def test_refusing_user_cannot_lock_the_hub_in_a_dispute(chain: Chain) -> None:
    """threats C9: a user whose address refuses ETH would make the original revert every
    emptyChannel, locking the hub's collateral in the channel forever."""
    refuser = _contract_user(chain, "RevertingReceiver", ETH)
    collateral = State(user=refuser.address, tx_count=(2, 2), wei=(0, ETH), pending_wei=(5 * ETH, 0, 0, 0))
    # A contract cannot sign, so the hub's collateral arrives in a hub-signed update it sends.
    data = chain.cm.encode_abi("userAuthorizedUpdate", args=[
        collateral.recipient, *collateral.body(), sign(chain.hub, collateral.hash(chain.cm.address))])
    chain.transact(refuser.functions.forward(chain.cm.address, 0, data), chain.actor("eve"))
    assert chain.balances(refuser.address)[:3] == (5 * ETH, ETH, 6 * ETH)

    reserve_wei = chain.reserves()[0]
    chain.transact(chain.cm.functions.startExit(refuser.address), chain.hub)
    chain.advance(CHALLENGE_PERIOD + 1)
    receipt = chain.transact(chain.cm.functions.emptyChannel(refuser.address), chain.hub)
    assert chain.reserves()[0] == reserve_wei + 5 * ETH  # the hub's collateral is back
    assert chain.events(receipt, "DidDeferPayout")[0]["weiAmount"] == ETH
    assert chain.cm.functions.deferredWei(refuser.address).call() == ETH
    chain.assert_solvent()


# --- non-standard tokens -------------------------------------------------------------------


def test_token_without_return_values_works(chain: Chain) -> None:
    c = _with_token(chain, "NoReturnToken")
    alice, bob = c.actor("alice"), c.actor("bob")
    c.transact(c.token.functions.mint(alice.address, 10 * ETH), alice)
    c.transact(c.token.functions.approve(c.cm.address, 10 * ETH), alice)
    deposit = State(user=alice.address, tx_count=(1, 1), pending_token=(ETH, 0, 10 * ETH, 0))
    c.transact(c.user_update(deposit), alice)
    assert c.balances(alice.address)[3:] == (ETH, 10 * ETH, 11 * ETH)
    withdraw = State(user=alice.address, recipient=bob.address, token=(ETH, 6 * ETH), tx_count=(3, 2),
                     pending_token=(0, 0, 0, 4 * ETH))
    c.transact(c.hub_update(withdraw), c.hub)
    assert c.tokens(bob.address) == 4 * ETH
    c.transact(c.cm.functions.hubContractWithdraw(0, 5 * ETH), c.hub)
    c.assert_solvent()


def test_fee_on_transfer_deposits_are_rejected(chain: Chain) -> None:
    c = _with_token(chain, "FeeOnTransferToken")
    alice = c.actor("alice")
    c.transact(c.token.functions.mint(alice.address, 10 * ETH), alice)
    c.transact(c.token.functions.approve(c.cm.address, 2**256 - 1), alice)
    deposit = State(user=alice.address, tx_count=(1, 1), pending_token=(0, 0, 10 * ETH, 0))
    assert "user token deposit failed" in c.revert_reason(c.user_update(deposit), alice)
    # Reserves count what actually arrived (1% of the funding transfer was burned).
    assert c.reserves()[1] == 990 * ETH
    c.assert_solvent()
