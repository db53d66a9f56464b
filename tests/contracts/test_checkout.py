"""The Checkout contract: an operator-signed intent pays exactly its amount to its recipient,
once, before its deadline; anything else reverts (replay, expiry, wrong value, wrong signer,
changed fields, re-entry) and moves nothing."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from eth_typing import Hash32
from eth_utils import keccak
from web3.contract import Contract

from hub.chain import deploy
from hub.checkout.intents import ZERO_ADDRESS, intent_digest, invoice_ref_bytes
from tests.contracts.chain import Chain

pytestmark = pytest.mark.chain

ETH = 10**18
REENTRANCY_ERROR = keccak(text="ReentrancyGuardReentrantCall()")[:4]


def _error(name: str) -> str:
    return "0x" + keccak(text=f"{name}()")[:4].hex()


@pytest.fixture
def checkout(chain: Chain) -> Contract:
    contract, _ = deploy.deploy_checkout(chain.w3, chain.hub, operator=chain.hub.address)
    return contract


def _intent(chain: Chain, checkout: Contract, *, signer: Any = None, asset: str = ZERO_ADDRESS,
            amount: int = ETH, recipient: str | None = None, deadline: int | None = None,
            tamper: dict[str, Any] | None = None) -> tuple[tuple[Any, ...], bytes]:
    message = {
        "invoice": invoice_ref_bytes("inv_" + secrets.token_hex(12)),
        "nonce": secrets.randbits(128), "recipient": recipient or chain.actor("bob").address,
        "asset": asset, "amount": amount,
        "deadline": chain.now() + 600 if deadline is None else deadline,
        "refundDestination": chain.actor("alice").address,
    }
    digest = intent_digest(contract=checkout.address, chain_id=chain.w3.eth.chain_id, message=message)
    assert checkout.functions.intentDigest(tuple(message.values())).call() == digest
    signature = (signer or chain.hub).unsafe_sign_hash(Hash32(digest)).signature
    message.update(tamper or {})  # after signing: what a tampering payer would send
    return tuple(message.values()), bytes(signature)


def test_eth_intent_pays_recipient_exactly_and_emits(chain: Chain, checkout: Contract) -> None:
    alice, bob = chain.actor("alice"), chain.actor("bob")
    intent, sig = _intent(chain, checkout, amount=3 * ETH // 2)
    before = chain.eth(bob.address)
    receipt = chain.transact(checkout.functions.payNative(intent, sig), alice, value=3 * ETH // 2)
    assert chain.eth(bob.address) - before == 3 * ETH // 2
    assert chain.eth(checkout.address) == 0
    (event,) = chain.events(receipt, "CheckoutPaid", checkout)
    assert event["invoice"] == intent[0] and event["payer"] == alice.address
    assert event["recipient"] == bob.address and event["amount"] == 3 * ETH // 2
    assert event["asset"] == ZERO_ADDRESS and event["refundDestination"] == alice.address


def test_token_intent_pays_recipient_exactly(chain: Chain, checkout: Contract) -> None:
    alice, bob = chain.actor("alice"), chain.actor("bob")
    chain.transact(chain.token.functions.mint(alice.address, 10 * ETH), chain.hub)
    chain.transact(chain.token.functions.approve(checkout.address, 10 * ETH), alice)
    intent, sig = _intent(chain, checkout, asset=chain.token.address, amount=7 * ETH)
    assert chain.revert_reason(checkout.functions.payToken(intent, sig), alice, value=1) == _error("WrongValue")
    assert chain.revert_reason(checkout.functions.payNative(intent, sig), alice, value=7 * ETH) == _error("WrongAsset")
    receipt = chain.transact(checkout.functions.payToken(intent, sig), alice)
    assert chain.tokens(bob.address) == 7 * ETH and chain.tokens(alice.address) == 3 * ETH
    (event,) = chain.events(receipt, "CheckoutPaid", checkout)
    assert event["asset"] == chain.token.address and event["amount"] == 7 * ETH


def test_replay_refused(chain: Chain, checkout: Contract) -> None:
    alice = chain.actor("alice")
    intent, sig = _intent(chain, checkout)
    chain.transact(checkout.functions.payNative(intent, sig), alice, value=ETH)
    assert chain.revert_reason(checkout.functions.payNative(intent, sig), alice, value=ETH) == _error("IntentUsed")
    assert chain.revert_reason(checkout.functions.payNative(intent, sig), chain.actor("carol"),
                               value=ETH) == _error("IntentUsed")


def test_expired_intent_refused(chain: Chain, checkout: Contract) -> None:
    intent, sig = _intent(chain, checkout, deadline=chain.now() + 60)
    chain.advance(120)
    assert chain.revert_reason(checkout.functions.payNative(intent, sig), chain.actor("alice"),
                               value=ETH) == _error("IntentExpired")


@pytest.mark.parametrize("value", [0, ETH - 1, ETH + 1, 2 * ETH])
def test_wrong_value_refused(chain: Chain, checkout: Contract, value: int) -> None:
    intent, sig = _intent(chain, checkout)
    assert chain.revert_reason(checkout.functions.payNative(intent, sig), chain.actor("alice"),
                               value=value) == _error("WrongValue")


def test_wrong_signer_and_tampered_fields_refused(chain: Chain, checkout: Contract) -> None:
    alice, eve = chain.actor("alice"), chain.actor("eve")
    intent, sig = _intent(chain, checkout, signer=eve)
    assert chain.revert_reason(checkout.functions.payNative(intent, sig), alice,
                               value=ETH) == _error("InvalidSignature")
    intent, sig = _intent(chain, checkout, tamper={"recipient": eve.address})
    assert chain.revert_reason(checkout.functions.payNative(intent, sig), alice,
                               value=ETH) == _error("InvalidSignature")
    intent, sig = _intent(chain, checkout, tamper={"amount": 1})
    assert chain.revert_reason(checkout.functions.payNative(intent, sig), alice,
                               value=1) == _error("InvalidSignature")
    intent, sig = _intent(chain, checkout)
    assert chain.revert_reason(checkout.functions.payNative(intent, sig[:64] + b"\x00"), alice,
                               value=ETH) == _error("InvalidSignature")


def test_intent_for_another_deployment_refused(chain: Chain, checkout: Contract) -> None:
    other, _ = deploy.deploy_checkout(chain.w3, chain.hub, operator=chain.hub.address)
    intent, sig = _intent(chain, checkout)
    assert chain.revert_reason(other.functions.payNative(intent, sig), chain.actor("alice"),
                               value=ETH) == _error("InvalidSignature")


def test_paused_refuses_until_unpaused(chain: Chain, checkout: Contract) -> None:
    alice = chain.actor("alice")
    intent, sig = _intent(chain, checkout)
    chain.transact(checkout.functions.pause(), chain.hub)
    assert chain.revert_reason(checkout.functions.payNative(intent, sig), alice,
                               value=ETH) == _error("EnforcedPause")
    chain.transact(checkout.functions.unpause(), chain.hub)
    chain.transact(checkout.functions.payNative(intent, sig), alice, value=ETH)


def test_reentrant_recipient_cannot_reenter(chain: Chain, checkout: Contract) -> None:
    alice = chain.actor("alice")
    receiver, _ = deploy.deploy_contract(chain.w3, chain.hub, "ReentrantReceiver")
    chain.transact(chain.token.functions.mint(receiver.address, 5 * ETH), chain.hub)
    chain.transact(receiver.functions.approveToken(chain.token.address, checkout.address, 5 * ETH), chain.hub)
    inner, inner_sig = _intent(chain, checkout, asset=chain.token.address, amount=5 * ETH)
    chain.transact(receiver.functions.arm(
        checkout.address, checkout.encode_abi("payToken", args=[inner, inner_sig])), chain.hub)
    intent, sig = _intent(chain, checkout, recipient=receiver.address)
    chain.transact(checkout.functions.payNative(intent, sig), alice, value=ETH)
    assert receiver.functions.reentryAttempts().call() == 1
    assert receiver.functions.reentrySuccesses().call() == 0
    assert receiver.functions.lastRevertData().call()[:4] == REENTRANCY_ERROR
    assert chain.eth(receiver.address) == ETH and chain.tokens(receiver.address) == 5 * ETH


def test_reentrant_token_cannot_reenter(chain: Chain, checkout: Contract) -> None:
    alice, bob = chain.actor("alice"), chain.actor("bob")
    token, _ = deploy.deploy_contract(chain.w3, chain.hub, "ReentrantToken")
    chain.transact(token.functions.mint(alice.address, 10 * ETH), chain.hub)
    chain.transact(token.functions.approve(checkout.address, 10 * ETH), alice)
    inner, inner_sig = _intent(chain, checkout)
    chain.transact(token.functions.arm(
        checkout.address, checkout.encode_abi("payNative", args=[inner, inner_sig])), chain.hub)
    intent, sig = _intent(chain, checkout, asset=token.address, amount=4 * ETH)
    chain.transact(checkout.functions.payToken(intent, sig), alice)
    assert token.functions.reentrySuccesses().call() == 0
    assert token.functions.lastRevertData().call()[:4] == REENTRANCY_ERROR
    assert chain.tokens(bob.address, token) == 4 * ETH


def test_fee_on_transfer_token_refused(chain: Chain, checkout: Contract) -> None:
    alice = chain.actor("alice")
    token, _ = deploy.deploy_contract(chain.w3, chain.hub, "FeeOnTransferToken")
    chain.transact(token.functions.mint(alice.address, 10 * ETH), chain.hub)
    chain.transact(token.functions.approve(checkout.address, 10 * ETH), alice)
    intent, sig = _intent(chain, checkout, asset=token.address, amount=4 * ETH)
    assert chain.revert_reason(checkout.functions.payToken(intent, sig), alice) == _error("AmountNotReceived")
