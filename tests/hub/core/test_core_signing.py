"""Personal-message signatures: recovery, v normalisation and rejection of malleable/forged ones."""

from __future__ import annotations

import pytest
from core_factories import HUB, OTHER, USER, signed, state

from hub.core import Signer, UpdateRejected, assert_channel_signer, channel_state_hash, recover
from hub.core.signing import SECP256K1_N

HASH = "0x" + "ab" * 32


def _flip_to_high_s(sig: str) -> str:
    raw = bytes.fromhex(sig[2:])
    s = int.from_bytes(raw[32:64], "big")
    v = raw[64]
    return (
        "0x" + raw[:32].hex() + (SECP256K1_N - s).to_bytes(32, "big").hex() + format(55 - v, "02x")
    )


def test_signature_recovers_to_the_signer() -> None:
    assert recover(HASH, USER.sign_hash(HASH)) == USER.address


def test_signature_uses_v_27_or_28() -> None:
    assert USER.sign_hash(HASH)[-2:] in ("1b", "1c")


def test_v_0_or_1_is_accepted() -> None:
    sig = USER.sign_hash(HASH)
    v01 = sig[:-2] + format(int(sig[-2:], 16) - 27, "02x")
    assert recover(HASH, v01) == USER.address


def test_upper_case_hex_is_accepted() -> None:
    sig = USER.sign_hash(HASH)
    assert recover(HASH, "0x" + sig[2:].upper()) == USER.address


def test_high_s_signature_is_rejected() -> None:
    high = _flip_to_high_s(USER.sign_hash(HASH))
    with pytest.raises(UpdateRejected) as err:
        recover(HASH, high)
    assert err.value.code == "bad_signature"


@pytest.mark.parametrize(
    "sig",
    [
        "",
        "0x",
        "0x1234",
        "0x" + "zz" * 65,
        "0x" + "11" * 64,  # 64 bytes
        "0x" + "11" * 66,
        "0x" + "00" * 64 + "1b",  # r = s = 0
        "0x" + "11" * 64 + "1d",  # v = 29
        "11" * 65,  # no 0x
    ],
)
def test_malformed_signature_is_rejected(sig: str) -> None:
    with pytest.raises(UpdateRejected) as err:
        recover(HASH, sig)
    assert err.value.code == "bad_signature"


def test_forged_user_signature_is_rejected() -> None:
    s = state(balance_wei_user=5).unsigned()
    forged = OTHER.sign_channel_state(s, as_party="user")
    with pytest.raises(UpdateRejected) as err:
        assert_channel_signer(forged, hub_address=HUB.address, signer="user")
    assert err.value.code == "bad_signature"


def test_signature_over_another_state_is_rejected() -> None:
    s = signed(state(balance_wei_user=5))
    tampered = s.replace(balance_wei_user=6)
    assert_channel_signer(s, hub_address=HUB.address, signer="hub")
    with pytest.raises(UpdateRejected):
        assert_channel_signer(tampered, hub_address=HUB.address, signer="hub")


def test_missing_signature_is_rejected() -> None:
    with pytest.raises(UpdateRejected) as err:
        assert_channel_signer(state(), hub_address=HUB.address, signer="user")
    assert err.value.code == "bad_signature"


def test_hub_signature_checks_against_the_hub_address_not_the_user() -> None:
    s = USER.sign_channel_state(state(), as_party="hub")
    with pytest.raises(UpdateRejected):
        assert_channel_signer(s, hub_address=HUB.address, signer="hub")
    assert recover(channel_state_hash(s), s.sig_hub) == USER.address


def test_signer_repr_never_shows_the_private_key() -> None:
    key = "0x" + "5a" * 32
    text = repr(Signer(key)) + str(Signer(key))
    assert "5a5a" not in text
    assert Signer(key).address in text


def test_signer_rejects_keys_of_the_wrong_length() -> None:
    with pytest.raises(ValueError):
        Signer("0x1234")
