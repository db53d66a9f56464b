"""The nonce/session scheme of hub/auth.py from the inside, without a database or a chain: what a
first request writes (the session and the verified signature, each for two hours from the
nonce's issue; the nonce leaves the pending set), the exact edges of both lifetimes, the process
memory that spares the hot path a Redis round trip, and a second signature of the same signer
over a session's nonce (the other v convention) verified once and then cached."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.conf import settings
from django.core.cache import cache
from eth_account import Account
from eth_account.messages import encode_defunct

from hub import auth
from hub.core import UpdateRejected

T = 1_000_000.5  # a nonce's issue time (not a whole second: sessions count from the whole second)


def signed(account: object, text: str) -> str:
    return "0x" + bytes(Account.sign_message(encode_defunct(text=text),
                                             account.key).signature).hex()  # type: ignore[attr-defined]


def ttl(key: str) -> int:
    return int(auth._redis(settings.REDIS_URL).ttl(cache.make_key(key)))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    monkeypatch.setattr(auth, "_VERIFIED", {})

    def set_now(at: float) -> None:
        monkeypatch.setattr(auth, "now", lambda: at)

    return set_now


def refused(address: str, nonce: str, signature: str) -> tuple[str, str]:
    with pytest.raises(auth.AuthFailed) as failure:
        auth.authenticate(address, nonce, signature)
    return failure.value.code, failure.value.message


def test_a_nonce_is_32_random_bytes_in_hex_pending_for_its_address_only() -> None:
    address = Account.create().address
    nonce = auth.issue_nonce(address)
    assert re.fullmatch(r"[0-9a-f]{64}", nonce) and auth.issue_nonce(address) != nonce
    pending = auth._redis(settings.REDIS_URL)
    assert pending.zscore(auth._pending_key(address.lower()), nonce) is not None
    assert 0 < pending.ttl(auth._pending_key(address.lower())) <= auth.PENDING_NONCE_TTL_SECONDS
    with pytest.raises(UpdateRejected) as refusal:
        auth.issue_nonce("0x1234")
    assert (refusal.value.code, refusal.value.message) == (
        "bad_args", "x-address is not an address: '0x1234'")


def test_the_first_request_opens_a_two_hour_session_up_to_five_minutes_after_the_issue(
        clock: Callable[[float], None]) -> None:
    account = Account.create()
    user = account.address.lower()
    clock(T)
    nonce = auth.issue_nonce(user)
    signature = signed(account, nonce)
    clock(T + auth.PENDING_NONCE_TTL_SECONDS)  # the last moment it may be used
    assert auth.authenticate(account.address, nonce, signature) == user
    assert auth._redis(settings.REDIS_URL).zscore(auth._pending_key(user), nonce) is None
    session, verified = auth._session_key(user, nonce), auth._verified_key(user, nonce, signature)
    assert cache.get(session) == int(T) and cache.get(verified) == 1
    for key in (session, verified):
        assert auth.NONCE_TTL_SECONDS - 60 < ttl(key) <= auth.NONCE_TTL_SECONDS
    assert auth._VERIFIED == {(user, nonce, signature): float(int(T))}

    late = Account.create()
    clock(T)
    nonce = auth.issue_nonce(late.address)
    clock(T + auth.PENDING_NONCE_TTL_SECONDS + 0.5)
    assert refused(late.address, nonce, signed(late, nonce)) == (
        "nonce_expired", "the nonce was not used in time; ask for a new one")


def test_the_process_memory_answers_without_redis_until_the_sessions_end(
        clock: Callable[[float], None]) -> None:
    account = Account.create()
    user = account.address.lower()
    clock(T)
    nonce = auth.issue_nonce(user)
    signature = signed(account, nonce)
    assert auth.authenticate(user, nonce, signature) == user
    cache.delete_many([auth._session_key(user, nonce), auth._verified_key(user, nonce, signature)])
    clock(int(T) + auth.NONCE_TTL_SECONDS)  # remembered: no Redis read (the cache was emptied)
    assert auth.authenticate(user, nonce, signature) == user
    clock(int(T) + auth.NONCE_TTL_SECONDS + 0.5)
    assert refused(user, nonce, signature)[0] == "nonce_invalid"  # past it: Redis is asked


def test_a_session_the_process_forgot_is_judged_from_the_cache_to_the_second(
        clock: Callable[[float], None]) -> None:
    account, other = Account.create(), Account.create()
    user = account.address.lower()
    clock(T)
    nonce = auth.issue_nonce(user)
    signature = signed(account, nonce)
    assert auth.authenticate(user, nonce, signature) == user
    auth._VERIFIED.clear()
    clock(int(T) + auth.NONCE_TTL_SECONDS)  # two hours from the issue's whole second
    assert auth.authenticate(user, nonce, signature) == user
    assert auth._VERIFIED == {(user, nonce, signature): float(int(T))}

    # the same signer's signature in the other v convention: verified once, then cached
    raw = bytes.fromhex(signature[2:])
    twin = "0x" + (raw[:64] + bytes([raw[64] - 27])).hex()
    auth._VERIFIED.clear()
    assert auth.authenticate(user, nonce, twin) == user
    assert cache.get(auth._verified_key(user, nonce, twin)) == 1
    assert auth.NONCE_TTL_SECONDS - 60 < ttl(auth._verified_key(user, nonce, twin)) \
        <= auth.NONCE_TTL_SECONDS
    assert auth._VERIFIED == {(user, nonce, twin): float(int(T))}

    # another key's signature over the session's nonce
    assert refused(user, nonce, signed(other, nonce)) == (
        "bad_signature", "x-signature was not made by x-address")
    auth._VERIFIED.clear()
    clock(int(T) + auth.NONCE_TTL_SECONDS + 1)
    assert refused(user, nonce, signature) == (
        "nonce_expired", "the nonce is older than 2 hours; ask for a new one")


def test_a_signed_nonce_the_hub_never_issued_is_refused_even_during_a_session(
        clock: Callable[[float], None]) -> None:
    """A user's own signature over a nonce of their choosing (or one captured from an old,
    expired session) opens nothing: only a nonce the hub issued does, whatever session is open."""
    account = Account.create()
    user = account.address.lower()
    clock(T)
    nonce = auth.issue_nonce(user)
    assert auth.authenticate(user, nonce, signed(account, nonce)) == user
    chosen = "ab" * 32
    assert refused(user, chosen, signed(account, chosen)) == (
        "nonce_invalid", "the nonce is unknown, expired or already replaced")
    assert cache.get(auth._session_key(user, chosen)) is None


def test_a_concurrent_first_request_that_finds_the_nonce_consumed_still_succeeds(
        clock: Callable[[float], None]) -> None:
    """Two first requests with one nonce: the one that consumed it opened the session (its issue
    time), the other finds the session the first wrote and succeeds too (None: nothing to
    remember twice); a third party's signature over it does not."""
    account, other = Account.create(), Account.create()
    user = account.address.lower()
    clock(T)
    nonce = auth.issue_nonce(user)
    signature = signed(account, nonce)
    assert auth._open_session(user, nonce, signature) == float(int(T))
    assert auth._open_session(user, nonce, signature) is None
    with pytest.raises(auth.AuthFailed) as failure:
        auth._open_session(other.address.lower(), nonce, signed(other, nonce))
    assert failure.value.code == "nonce_invalid"


def test_the_bounds_of_s_in_a_sign_in_signature() -> None:
    account = Account.create()
    raw = bytes.fromhex(signed(account, "hello")[2:])

    def with_s(s: int) -> str:
        return "0x" + (raw[:32] + s.to_bytes(32, "big") + raw[64:]).hex()

    for s in (1, auth._HALF_N):  # in range: recovers (to another address: the bits changed)
        assert re.fullmatch(r"0x[0-9a-f]{40}", auth.recover_text_signer("hello", with_s(s)))
    for s in (0, auth._HALF_N + 1):
        with pytest.raises(auth.AuthFailed) as failure:
            auth.recover_text_signer("hello", with_s(s))
        assert (failure.value.code, failure.value.message) == ("bad_signature", "x-signature is malformed")


def test_each_refused_signature_says_what_is_wrong_with_it(clock: Callable[[float], None]) -> None:
    """The message is the `error` a client shows (docs/protocol.md, Errors): each way a sign-in
    signature can be wrong has its own, beside the stable code."""
    account, other = Account.create(), Account.create()
    user = account.address.lower()
    good = bytes.fromhex(signed(account, "hello")[2:])
    no_point = "0x" + (bytes(32) + good[32:]).hex()  # r = 0: no curve point to recover from
    for signature, message in (("0xzz", "x-signature is not hex"),
                               ("0x" + good[:64].hex(), "x-signature is not 65 bytes"),
                               (no_point, "x-signature does not recover")):
        with pytest.raises(auth.AuthFailed) as failure:
            auth.recover_text_signer("hello", signature)
        assert (failure.value.code, failure.value.message, str(failure.value)) == (
            "bad_signature", message, message)
    for missing in ((None, "n", "0x"), (user, "", "0x"), (user, "n", None)):
        assert refused(*missing) == ("auth_required", "x-address, x-nonce and x-signature are required")
    assert refused("0x1234", "n", "0x") == ("bad_address", "x-address is not an address")
    assert refused(user, "a" * 129, "0x") == ("nonce_invalid", "the nonce is unknown, expired or already replaced")

    clock(T)
    nonce = auth.issue_nonce(user)  # the first request, signed by another key: no session opens
    assert refused(user, nonce, signed(other, nonce)) == ("bad_signature", "x-signature was not made by x-address")
    assert cache.get(auth._session_key(user, nonce)) is None
    assert auth._redis(settings.REDIS_URL).zscore(auth._pending_key(user), nonce) is not None


def test_a_signature_the_cache_holds_as_verified_is_not_recovered_again(clock: Callable[[float], None]) -> None:
    """The verified-signature key (a hash of address, nonce and signature, written only after a
    recovery succeeded) is the hot path's verdict: a process that forgot the session trusts it and
    does no ecrecover. Shown with a value that could never recover, held as verified."""
    account = Account.create()
    user = account.address.lower()
    clock(T)
    nonce = auth.issue_nonce(user)
    assert auth.authenticate(user, nonce, signed(account, nonce)) == user
    unrecoverable = "0x" + "00" * 65
    with pytest.raises(auth.AuthFailed):
        auth.recover_text_signer(nonce, unrecoverable)
    cache.set(auth._verified_key(user, nonce, unrecoverable), 1, auth.NONCE_TTL_SECONDS)
    auth._VERIFIED.clear()
    assert auth.authenticate(user, nonce, unrecoverable) == user
    assert auth._VERIFIED == {(user, nonce, unrecoverable): float(int(T))}
