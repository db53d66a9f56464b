"""Signature handling: forged, replayed (another contract, another user, older txCount),
malleated (high s) and malformed signatures are rejected; the client's formats are accepted."""

from __future__ import annotations

import pytest

from hub.chain import deploy
from tests.contracts.chain import Chain, State, malleate, sign

pytestmark = pytest.mark.chain

ETH = 10**18


def _fresh_deposit(chain: Chain, user: str) -> State:
    return State(user=user, tx_count=(1, 1), pending_wei=(0, 0, ETH, 0))


def _with_v(sig: str, v: int) -> str:
    return sig[:-2] + f"{v:02x}"


def test_client_signature_variants_are_accepted(chain: Chain) -> None:
    alice = chain.actor("alice")
    state = _fresh_deposit(chain, alice.address)
    sig = sign(alice, state.hash(chain.cm.address))
    v = int(sig[-2:], 16)
    for variant in (sig, _with_v(sig, v - 27), "0x" + sig[2:].upper(), "0X" + sig[2:]):
        chain.hub_update(state, sig=variant).call({"from": chain.hub.address})


def test_high_s_signature_is_rejected(chain: Chain) -> None:
    alice = chain.actor("alice")
    state = _fresh_deposit(chain, alice.address)
    sig = sign(alice, state.hash(chain.cm.address))
    twin = malleate(sig)
    assert twin != sig
    # The twin is a valid ECDSA signature for the same key (ecrecover alone would accept it) ...
    from eth_account import Account
    from eth_account.messages import encode_defunct

    assert Account.recover_message(encode_defunct(primitive=state.hash(chain.cm.address)),
                                   signature=bytes.fromhex(twin[2:])) == alice.address
    # ... but the contract takes only the low-s form.
    assert "user signature invalid" in chain.revert_reason(chain.hub_update(state, sig=twin), chain.hub)
    assert "hub signature invalid" in chain.revert_reason(
        chain.user_update(state, sig=malleate(sign(chain.hub, state.hash(chain.cm.address)))), alice, value=ETH)


@pytest.mark.parametrize("mangle", [
    "empty", "no_prefix", "short", "long", "bad_hex", "v_29", "v_2", "zero_r", "zero_s", "raw_hash",
])
def test_malformed_signatures_are_rejected(chain: Chain, mangle: str) -> None:
    alice = chain.actor("alice")
    state = _fresh_deposit(chain, alice.address)
    digest = state.hash(chain.cm.address)
    sig = sign(alice, digest)
    bad = {
        "empty": "",
        "no_prefix": "00" + sig[2:],
        "short": sig[:-2],
        "long": sig + "00",
        "bad_hex": sig[:10] + "zz" + sig[12:],
        "v_29": _with_v(sig, 29),
        "v_2": _with_v(sig, 2),
        "zero_r": "0x" + "00" * 32 + sig[66:],
        "zero_s": sig[:66] + "00" * 32 + sig[-2:],
        # A signature over the bare hash, without the personal-message prefix.
        "raw_hash": alice.unsafe_sign_hash(digest).signature.to_0x_hex(),
    }[mangle]
    assert "user signature invalid" in chain.revert_reason(chain.hub_update(state, sig=bad), chain.hub)


def test_forged_signature_is_rejected(chain: Chain) -> None:
    alice, eve = chain.actor("alice"), chain.actor("eve")
    state = _fresh_deposit(chain, alice.address)
    digest = state.hash(chain.cm.address)
    assert "user signature invalid" in chain.revert_reason(chain.hub_update(state, sig=sign(eve, digest)), chain.hub)
    assert "hub signature invalid" in chain.revert_reason(
        chain.user_update(state, sig=sign(eve, digest)), alice, value=ETH)
    # A signature over a different state (one wei more) does not carry over.
    other = state.replace(pending_wei=(0, 0, ETH + 1, 0))
    assert "user signature invalid" in chain.revert_reason(
        chain.hub_update(state, sig=sign(alice, other.hash(chain.cm.address))), chain.hub)


def test_state_signed_for_another_contract_is_rejected(chain: Chain) -> None:
    alice = chain.actor("alice")
    twin, _ = deploy.deploy_channel_manager(chain.w3, chain.hub, hub=chain.hub.address,
                                            challenge_period=100, token=chain.token.address)
    state = _fresh_deposit(chain, alice.address)
    sig_for_twin = sign(alice, state.hash(twin.address))
    assert "user signature invalid" in chain.revert_reason(chain.hub_update(state, sig=sig_for_twin), chain.hub)
    hub_sig_for_twin = sign(chain.hub, state.hash(twin.address))
    assert "hub signature invalid" in chain.revert_reason(
        chain.user_update(state, sig=hub_sig_for_twin), alice, value=ETH)


def test_state_signed_for_another_user_is_rejected(chain: Chain) -> None:
    alice, eve = chain.actor("alice"), chain.actor("eve")
    state = _fresh_deposit(chain, alice.address)
    hub_sig = sign(chain.hub, state.hash(chain.cm.address))
    # eve submits alice's hub-signed deposit: the contract puts eve in the user slot.
    assert "hub signature invalid" in chain.revert_reason(chain.user_update(state, sig=hub_sig), eve, value=ETH)
    # The hub submits alice's user-signed state for eve's channel.
    alice_sig = sign(alice, state.hash(chain.cm.address))
    as_eve = state.replace(user=eve.address, recipient=alice.address)
    assert "user signature invalid" in chain.revert_reason(chain.hub_update(as_eve, sig=alice_sig), chain.hub)


def test_older_states_cannot_be_replayed(chain: Chain) -> None:
    alice = chain.actor("alice")
    deposit = _fresh_deposit(chain, alice.address)
    chain.transact(chain.user_update(deposit), alice, value=ETH)
    assert "global txCount must be higher" in chain.revert_reason(chain.user_update(deposit), alice, value=ETH)

    confirmed = State(user=alice.address, wei=(0, ETH), tx_count=(2, 1))
    paid = confirmed.replace(wei=(ETH // 2, ETH // 2), tx_count=(3, 1))
    chain.transact(chain.double_signed("startExitWithUpdate", paid), chain.hub)
    # alice cannot answer with the older state in which she had more.
    assert "global txCount must be higher" in chain.revert_reason(
        chain.double_signed("emptyChannelWithChallenge", confirmed), alice)
