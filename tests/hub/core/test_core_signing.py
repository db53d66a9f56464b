"""Personal-message signatures: recovery, v normalisation and rejection of malleable/forged ones."""

from __future__ import annotations

import pytest
from core_factories import HUB, OTHER, USER, signed, state
from hypothesis import given, settings
from hypothesis import strategies as st

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


def _with_rs(sig: str, *, r: int | None = None, s: int | None = None) -> str:
    raw = bytes.fromhex(sig[2:])
    r_bytes = raw[:32] if r is None else r.to_bytes(32, "big")
    s_bytes = raw[32:64] if s is None else s.to_bytes(32, "big")
    return "0x" + r_bytes.hex() + s_bytes.hex() + raw[64:].hex()


@pytest.mark.parametrize(("r", "s"), [
    (None, SECP256K1_N // 2),  # the highest low s: accepted (EIP-2 rejects only s > n/2)
    (None, 1),                 # the lowest s
    (1, None),                 # the lowest r (1 is the x of a curve point)
])
def test_the_bounds_of_r_and_s_are_accepted_and_recover_to_some_address(r: int | None, s: int | None) -> None:
    """In-range r and s recover to an address (another signer's: the bits were changed), which
    the callers then compare with the party's; only the range check itself refuses outright."""
    address = recover(HASH, _with_rs(USER.sign_hash(HASH), r=r, s=s))
    assert address.startswith("0x") and len(address) == 42 and address != USER.address


@pytest.mark.parametrize(("r", "s"), [
    (0, None), (SECP256K1_N, None), (None, 0), (None, SECP256K1_N // 2 + 1),
])
def test_r_and_s_out_of_range_are_refused_before_recovery(r: int | None, s: int | None) -> None:
    """Refused by the range check, not by a failed recovery (r = n - 1, in range, does not
    recover here: the message says which check refused)."""
    with pytest.raises(UpdateRejected) as err:
        recover(HASH, _with_rs(USER.sign_hash(HASH), r=r, s=s))
    assert err.value.code == "bad_signature"
    assert "out of range" in err.value.message


def test_a_signer_signs_as_the_hub_unless_told_otherwise() -> None:
    s = state(balance_wei_user=5).unsigned()
    signed_state = HUB.sign_channel_state(s)
    assert signed_state.sig_user is None
    assert recover(channel_state_hash(s), signed_state.sig_hub) == HUB.address
    as_user = USER.sign_channel_state(s, as_party="user")
    assert as_user.sig_hub is None and recover(channel_state_hash(s), as_user.sig_user) == USER.address
    with pytest.raises(ValueError, match="unknown party 'watcher'"):
        USER.sign_channel_state(s, as_party="watcher")


def test_a_signature_with_v_outside_27_28_0_1_is_refused_and_named() -> None:
    sig = USER.sign_hash(HASH)
    for v in ("02", "1d", "ff"):
        with pytest.raises(UpdateRejected) as err:
            recover(HASH, sig[:-2] + v)
        assert err.value.code == "bad_signature" and f"v={int(v, 16)}" in err.value.message
    assert recover(HASH, sig[:-2] + format(int(sig[-2:], 16) - 27, "02x")) == USER.address  # 0/1 too


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_the_core_hashes_with_eth_hash_pysha3_backend_and_the_same_digests(data: bytes) -> None:
    """hub.core.keccak is eth-hash's pysha3 backend (C, safe-pysha3), not the slower pycryptodome
    one `eth_hash.auto` picks when both are installed; the digests are the same."""
    from eth_hash.backends.pycryptodome import CryptodomeBackend
    from eth_hash.backends.pysha3 import PySha3Backend

    from hub.core.keccak import keccak

    assert isinstance(getattr(keccak, "__self__", None), PySha3Backend)
    assert keccak(data) == CryptodomeBackend().keccak256(data)
