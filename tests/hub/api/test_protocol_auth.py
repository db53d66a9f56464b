"""Authorization of the protocol API: owner checks on every `:user` route, nonces and sessions
(an unauthenticated nonce request never ends a session), single-use deposit authorizations."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from config.hub_urls import urlpatterns
from hub import auth
from hub.channels.models import ChannelUpdate, DepositAuthorization
from tests.chain_env import ETH, ChainEnv
from tests.hub.api.user_sim import UserSim

pytestmark = [pytest.mark.django_db(transaction=True)]


def user_routes() -> list[tuple[str, str]]:
    """Every route naming `:user`, as (method, path template), from the URL configuration
    itself so a new route cannot be added without this test covering it."""
    routes = []
    for pattern in urlpatterns:
        regex = str(pattern.pattern)
        if "(?P<user>" not in regex:
            continue
        template = regex.strip("^$").replace(r"(?P<user>0x[0-9a-fA-F]{40})", "{user}")
        template = re.sub(r"\(\?P<tx_count>[^)]*\)", "1", template)
        template = template.replace("(?P<which>active|all|incoming|initial-states)", "all")
        if getattr(pattern.callback, "protocol_others_allowed", False):
            continue  # GET channel/:user: others get a redacted view (test below)
        methods = pattern.callback.protocol_methods
        method = "GET" if "GET" in methods else methods[0]
        routes.append((method, template))
    return routes


def test_the_route_list_covers_every_user_route() -> None:
    assert len(user_routes()) == 16
    others = [str(p.pattern) for p in urlpatterns if getattr(p.callback, "protocol_others_allowed", False)]
    assert others == [r"^channel/(?P<user>0x[0-9a-fA-F]{40})$"]


@pytest.mark.deposit_collateral
def test_another_user_reads_a_channel_redacted_the_owner_in_full(hub_chain: ChainEnv) -> None:
    """What the Connext client's recipientNeedsCollateral reads: the hub's balances. The user's
    balances, pending amounts and signatures are the owner's alone."""
    from tests.hub.api.test_channel_flows import set_rate, user_deposit

    set_rate("200")
    owner = UserSim(hub_chain.new_user(eth=2 * ETH), hub_chain.deployment.channel_manager)
    owner.login()
    user_deposit(hub_chain, owner, wei=ETH // 10)
    mine = owner.get(f"channel/{owner.address}").json()["state"]
    assert mine["balanceWeiUser"] == str(ETH // 10) and mine["sigUser"] and mine["sigHub"]
    assert int(mine["balanceTokenHub"]) == 20 * 10**18  # the deposit carried exchange collateral

    other = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    other.login()
    response = other.get(f"channel/{owner.address}")
    assert response.status_code == 200, response.content
    seen = response.json()["state"]
    assert (seen["balanceWeiHub"], seen["balanceTokenHub"]) == (mine["balanceWeiHub"], mine["balanceTokenHub"])
    assert seen["balanceWeiUser"] == seen["balanceTokenUser"] == "0"
    assert seen["sigUser"] == seen["sigHub"] == ""
    assert seen["txCountGlobal"] == 0
    assert other.get(f"channel/{owner.address}/sync?lastChanTx=0").json()["code"] == "not_owner"


@pytest.mark.parametrize(("method", "template"), user_routes())
def test_every_user_route_refuses_another_users_signature(hub_chain: ChainEnv, method: str, template: str) -> None:
    victim = Account.create().address.lower()
    mallory = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    mallory.login()
    path = template.format(user=victim)
    response = mallory.get(path) if method == "GET" else mallory.post(path, {})
    assert response.status_code == 403
    assert response.json()["code"] == "not_owner"


@pytest.mark.parametrize(("method", "template"), user_routes())
def test_every_user_route_refuses_no_signature(hub_chain: ChainEnv, method: str, template: str) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    path = template.format(user=sim.address)
    response = sim.get(path) if method == "GET" else sim.post(path, {})
    assert response.status_code == 403
    assert response.json()["code"] == "auth_required"


def test_a_nonce_asked_for_by_anyone_does_not_end_the_victims_session(hub_chain: ChainEnv) -> None:
    victim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    victim.login()
    path = f"channel/{victim.address}/sync?lastChanTx=0"
    assert victim.get(path).status_code == 200
    for _ in range(auth.PENDING_NONCES_MAX + 4):  # no authentication needed for this route
        assert victim.client.get("/api/hub/nonce", headers={"x-address": victim.address}).status_code == 200
    assert victim.get(path).status_code == 200


def test_signing_in_again_leaves_the_earlier_session_open(hub_chain: ChainEnv) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    sim.login()
    first = dict(sim.headers)
    assert sim.get(f"channel/{sim.address}/sync?lastChanTx=0").status_code == 200
    sim.login()
    assert sim.get(f"channel/{sim.address}/sync?lastChanTx=0").status_code == 200
    sim.headers = first
    assert sim.get(f"channel/{sim.address}/sync?lastChanTx=0").status_code == 200


def test_only_the_newest_pending_nonces_can_open_a_session(hub_chain: ChainEnv) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    sim.login()
    oldest = dict(sim.headers)
    sim.login()
    second = dict(sim.headers)
    for _ in range(auth.PENDING_NONCES_MAX - 2):
        sim.login()
    newest_but_one = dict(sim.headers)
    sim.login()  # one more than the cap: the oldest pending nonce is dropped
    sim.headers = oldest
    response = sim.get(f"channel/{sim.address}/sync?lastChanTx=0")
    assert response.status_code == 403
    assert response.json()["code"] == "nonce_invalid"
    # the other PENDING_NONCES_MAX, the oldest of them first, still open a session
    for headers in (second, newest_but_one):
        sim.headers = headers
        assert sim.get(f"channel/{sim.address}/sync?lastChanTx=0").status_code == 200


def test_a_nonce_not_used_within_five_minutes_is_refused(hub_chain: ChainEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    issued = auth.now()
    monkeypatch.setattr(auth, "now", lambda: issued)
    sim.login()
    monkeypatch.setattr(auth, "now", lambda: issued + auth.PENDING_NONCE_TTL_SECONDS + 5)
    response = sim.get(f"channel/{sim.address}/sync?lastChanTx=0")
    assert response.status_code == 403
    assert response.json()["code"] == "nonce_expired"


def test_a_session_opened_by_another_key_signature_is_refused_and_the_nonce_still_works(hub_chain: ChainEnv) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    other = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    sim.login()
    own_signature = sim.headers["x-signature"]
    forged = Account.sign_message(encode_defunct(text=sim.headers["x-nonce"]), other.account.key).signature
    sim.headers["x-signature"] = "0x" + bytes(forged).hex()
    response = sim.get(f"channel/{sim.address}/sync?lastChanTx=0")
    assert response.status_code == 403
    assert response.json()["code"] == "bad_signature"
    sim.headers["x-signature"] = own_signature
    assert sim.get(f"channel/{sim.address}/sync?lastChanTx=0").status_code == 200


def test_a_session_older_than_two_hours_is_refused(hub_chain: ChainEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    issued = auth.now()
    monkeypatch.setattr(auth, "now", lambda: issued)
    sim.login()
    assert sim.get(f"channel/{sim.address}/sync?lastChanTx=0").status_code == 200
    monkeypatch.setattr(auth, "now", lambda: issued + 2 * 3600 - 5)
    assert sim.get(f"channel/{sim.address}/sync?lastChanTx=0").status_code == 200
    monkeypatch.setattr(auth, "now", lambda: issued + 2 * 3600 + 5)
    response = sim.get(f"channel/{sim.address}/sync?lastChanTx=0")
    assert response.status_code == 403
    assert response.json()["code"] == "nonce_expired"


def test_a_signature_by_another_key_is_refused(hub_chain: ChainEnv) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    other = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    sim.login()
    other.login()
    sim.headers["x-signature"] = other.headers["x-signature"]
    response = sim.get(f"channel/{sim.address}/sync?lastChanTx=0")
    assert response.status_code == 403
    assert response.json()["code"] in {"bad_signature", "nonce_invalid"}


def test_a_deposit_request_signature_builds_at_most_one_proposal_on_a_state(hub_chain: ChainEnv) -> None:
    """Ten concurrent copies of one request: one proposal, the rest refused, nothing doubled."""
    sim = UserSim(hub_chain.new_user(eth=0), hub_chain.deployment.channel_manager)
    sim.login()
    body = {"depositWei": str(ETH), "depositToken": "0",
            "sigUser": sim.signer.sign_deposit_request(0, ETH), "lastChanTx": 0}

    def post_once(_: int) -> tuple[int, str]:
        from django.db import connection

        try:
            response = UserSim(sim.account, sim.contract, headers=sim.headers).post(
                f"channel/{sim.address}/request-deposit", body)
            return response.status_code, response.json().get("code", "")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(post_once, range(10)))
    assert [status for status, _ in results].count(200) == 1
    assert {code for status, code in results if status != 200} <= {
        "deposit_authorization_used", "pending_operations", "pending_timeout"}
    assert DepositAuthorization.objects.count() == 1
    assert ChannelUpdate.objects.count() == 1
    # and replaying it later, on top of the pending state, is refused too
    again = sim.post(f"channel/{sim.address}/request-deposit", body)
    assert again.status_code == 400 and again.json()["code"] == "pending_timeout"


def test_a_deposit_request_signed_by_someone_else_is_refused(hub_chain: ChainEnv) -> None:
    sim = UserSim(hub_chain.new_user(eth=0), hub_chain.deployment.channel_manager)
    sim.login()
    forged = UserSim(Account.create(), "").signer.sign_deposit_request(0, ETH)
    response = sim.post(f"channel/{sim.address}/request-deposit",
                        {"depositWei": str(ETH), "depositToken": "0", "sigUser": forged})
    assert response.status_code == 400
    assert response.json()["code"] == "bad_signature"
    assert ChannelUpdate.objects.count() == 0
    assert DepositAuthorization.objects.count() == 0


def signed(account: object, text: str) -> bytes:
    return bytes(Account.sign_message(encode_defunct(text=text), account.key).signature)  # type: ignore[attr-defined]


def refusal(message: str, signature: bytes | str) -> str:
    text = signature if isinstance(signature, str) else "0x" + signature.hex()
    with pytest.raises(auth.AuthFailed) as refused:
        auth.recover_text_signer(message, text)
    return refused.value.code


def test_a_text_signature_recovers_its_signer_in_either_v_convention() -> None:
    account = Account.create()
    signature = signed(account, "nonce-1")
    assert signature[64] in (27, 28)
    assert auth.recover_text_signer("nonce-1", "0x" + signature.hex()) == account.address.lower()
    assert auth.recover_text_signer("nonce-1", signature.hex()) == account.address.lower()
    raw_v = signature[:64] + bytes([signature[64] - 27])
    assert auth.recover_text_signer("nonce-1", "0x" + raw_v.hex()) == account.address.lower()
    assert auth.recover_text_signer("nonce-2", "0x" + signature.hex()) != account.address.lower()


def test_malformed_and_malleable_signatures_are_refused() -> None:
    account = Account.create()
    signature = signed(account, "n")
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    n = auth.SECP256K1_N
    for bad in ("0xzz", signature[:64], signature + b"\x00",
                r + s.to_bytes(32, "big") + bytes([29]), r + s.to_bytes(32, "big") + bytes([2]),
                r + (0).to_bytes(32, "big") + bytes([v]),
                # the same signature's high-s twin (EIP-2): valid for ecrecover, refused here
                r + (n - s).to_bytes(32, "big") + bytes([55 - v]),
                r + (auth._HALF_N + 1).to_bytes(32, "big") + bytes([v]),
                (0).to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])):
        assert refusal("n", bad) == "bad_signature", bad
    # the largest low s is accepted as a signature (of somebody else)
    edge = r + auth._HALF_N.to_bytes(32, "big") + bytes([v])
    assert auth.recover_text_signer("n", "0x" + edge.hex()) != account.address.lower()


def test_each_missing_or_malformed_header_gets_its_own_code() -> None:
    account = Account.create()
    address = account.address.lower()
    for headers in ((None, "n", "0x00"), (address, None, "0x00"), (address, "n", None), ("", "", "")):
        with pytest.raises(auth.AuthFailed) as refused:
            auth.authenticate(*headers)
        assert refused.value.code == "auth_required", headers
    with pytest.raises(auth.AuthFailed) as refused:
        auth.authenticate("0x1234", "n", "0x00")
    assert refused.value.code == "bad_address"
    with pytest.raises(auth.AuthFailed) as refused:
        auth.authenticate(address, "n" * 129, "0x" + signed(account, "n" * 129).hex())
    assert (refused.value.code, str(refused.value)) == ("nonce_invalid", refused.value.message)


def test_operators_are_recognised_whatever_the_case_of_the_address(settings: object) -> None:
    operator = Account.create().address
    settings.HUB_OPERATOR_ADDRESSES = [operator.upper().replace("0X", "0x")]  # type: ignore[attr-defined]
    assert auth.is_operator(operator) and auth.is_operator(operator.lower())
    assert not auth.is_operator(Account.create().address)
    settings.HUB_OPERATOR_ADDRESSES = []  # type: ignore[attr-defined]
    assert not auth.is_operator(operator)


def test_the_processs_memory_of_verified_sessions_is_bounded(
        hub_chain: ChainEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """At most _VERIFIED_MAX sessions are remembered; the oldest is forgotten first (and then
    verified again from the cache, not refused)."""
    monkeypatch.setattr(auth, "_VERIFIED", {})
    monkeypatch.setattr(auth, "_VERIFIED_MAX", 2)
    sims = [UserSim(Account.create(), hub_chain.deployment.channel_manager) for _ in range(3)]
    keys = []
    for sim in sims:
        sim.login()
        assert sim.get(f"channel/{sim.address}/sync?lastChanTx=0").status_code == 200
        keys.append((sim.address, sim.headers["x-nonce"], sim.headers["x-signature"]))
    assert list(auth._VERIFIED) == keys[1:]
    assert sims[0].get(f"channel/{sims[0].address}/sync?lastChanTx=0").status_code == 200
    assert list(auth._VERIFIED) == [keys[2], keys[0]]

