"""A rejected field is named in the rejection: every key of a client channel state, every
argument of the on-chain-event updates, and the party whose signature is wrong. Clients (and the
people reading their logs) get told what to fix; the code stays `bad_args` / `bad_signature`."""

from __future__ import annotations

from typing import Any

import pytest
from core_factories import CONTRACT, HUB, OTHER, USER, signed, state

from hub.core import (
    ChannelState,
    ConfirmPendingArgs,
    EmptyChannelArgs,
    ThreadState,
    UpdateRejected,
    zero_state,
)
from hub.core.signing import assert_channel_signer, assert_deposit_request_signer

GOOD = signed(state(balance_wei_hub=3, balance_token_user=4)).to_json()
ADDRESS_KEYS = ["contractAddress", "user", "recipient"]
UINT_KEYS = [k for k, v in GOOD.items() if k not in (*ADDRESS_KEYS, "threadRoot", "sigHub", "sigUser")]
TX_HASH = "0x" + "ab" * 32


def rejection(call: Any, *args: Any) -> UpdateRejected:
    with pytest.raises(UpdateRejected) as err:
        call(*args)
    return err.value


def test_a_channel_state_parses_back_to_itself() -> None:
    assert ChannelState.from_json(GOOD).to_json() == GOOD
    assert len(UINT_KEYS) == 16  # 12 amounts, 2 tx counts, thread count, timeout


@pytest.mark.parametrize("key", [*ADDRESS_KEYS, "threadRoot", *UINT_KEYS])
def test_a_malformed_state_field_is_rejected_naming_that_field(key: str) -> None:
    bad = {**GOOD, key: "0xnope"}
    err = rejection(ChannelState.from_json, bad)
    assert err.code == "bad_args"
    assert err.message.startswith(f"{key} is not ")


@pytest.mark.parametrize("key", [*ADDRESS_KEYS, "threadRoot", *UINT_KEYS])
def test_a_missing_state_field_is_rejected_naming_that_field(key: str) -> None:
    err = rejection(ChannelState.from_json, {k: v for k, v in GOOD.items() if k != key})
    assert (err.code, err.message) == ("bad_args", f"missing field {key}")


@pytest.mark.parametrize("key", ["sigHub", "sigUser"])
def test_a_malformed_signature_field_is_rejected_naming_it(key: str) -> None:
    err = rejection(ChannelState.from_json, {**GOOD, key: "0x1234"})
    assert (err.code, err.message) == ("bad_signature", f"{key} is not a 65-byte hex signature")


def test_a_state_that_is_not_an_object_is_rejected_with_its_message() -> None:
    err = rejection(ChannelState.from_json, ["not", "an", "object"])
    assert (err.code, err.message) == ("bad_args", "channel state must be an object")


def test_zero_state_is_an_empty_channel_of_the_lower_cased_user_and_contract() -> None:
    upper = "0x" + USER.address[2:].upper()
    zero = zero_state(CONTRACT.upper().replace("0X", "0x"), upper)
    assert (zero.contract_address, zero.user, zero.recipient) == (CONTRACT, USER.address.lower(), USER.address.lower())
    assert (zero.tx_count_global, zero.tx_count_chain, zero.balance_token_user, zero.sig_hub) == (0, 0, 0, None)
    assert rejection(zero_state, CONTRACT, "0x12").message.startswith("user is not an address")
    assert rejection(zero_state, "0x12", USER.address).message.startswith("contractAddress is not an address")


@pytest.mark.parametrize("args_type", [EmptyChannelArgs, ConfirmPendingArgs])
def test_event_update_args_name_their_one_field(args_type: Any) -> None:
    parsed = args_type.from_json({"transactionHash": TX_HASH.upper().replace("0X", "0x")})
    assert parsed.to_json() == {"transactionHash": TX_HASH}
    reason = args_type.__name__.removesuffix("Args")
    assert rejection(args_type.from_json, "x").message == f"{reason} args must be an object"
    assert rejection(args_type.from_json, {}).message == "missing argument transactionHash"
    assert rejection(args_type.from_json, {"transactionHash": "0x12"}).message.startswith(
        "transactionHash is not a 32-byte hex string")


def test_a_wrong_or_missing_signature_names_the_party_that_should_have_signed() -> None:
    good = signed(state(balance_wei_user=1))
    wrong_user = good.replace(sig_user=OTHER.sign_channel_state(good, as_party="user").sig_user)
    wrong_hub = good.replace(sig_hub=OTHER.sign_channel_state(good, as_party="hub").sig_hub)
    for bad, party, address in ((wrong_user, "user", USER.address), (wrong_hub, "hub", HUB.address)):
        err = rejection(lambda s=bad, p=party: assert_channel_signer(s, hub_address=HUB.address, signer=p))
        assert (err.code, err.message) == ("bad_signature", f"{party} signature does not recover to {address.lower()}")
    unsigned = good.unsigned()
    for party in ("user", "hub"):
        err = rejection(lambda p=party: assert_channel_signer(unsigned, hub_address=HUB.address, signer=p))
        assert (err.code, err.message) == ("bad_signature", f"missing {party} signature")
    err = rejection(lambda: assert_deposit_request_signer(1, 2, None, USER.address))
    assert err.message == "missing user signature"
    err = rejection(lambda: assert_deposit_request_signer(1, 2, OTHER.sign_deposit_request(1, 2), USER.address))
    assert err.message == f"user signature does not recover to {USER.address.lower()}"
    assert_deposit_request_signer(1, 2, USER.sign_deposit_request(1, 2), USER.address)


THREAD = USER.sign_thread_state(ThreadState(contract_address=CONTRACT, sender=USER.address,
                                            receiver=OTHER.address, thread_id=1,
                                            balance_wei_sender=0, balance_token_sender=10)).to_json()


@pytest.mark.parametrize("key", [k for k in THREAD if k != "sigA"])
def test_a_malformed_thread_state_field_is_rejected_naming_that_field(key: str) -> None:
    assert ThreadState.from_json(THREAD).to_json() == THREAD
    err = rejection(ThreadState.from_json, {**THREAD, key: "0xnope"})
    assert err.code == "bad_args" and err.message.startswith(f"{key} is not ")
    err = rejection(ThreadState.from_json, {k: v for k, v in THREAD.items() if k != key})
    assert (err.code, err.message) == ("bad_args", f"missing field {key}")
