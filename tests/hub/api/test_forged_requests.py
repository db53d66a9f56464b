"""Forged, wrongly-signed, replayed and stale requests over HTTP, for every route that accepts a
signature: the x-signature of the nonce auth on every authenticated route, the user's Payment
states in a purchase, countersignatures of hub-signed states, the user's new states (payments to
the hub, accepted proposals, invalidations) and deposit requests. Each is refused with its stable
code and changes nothing: no row is added, no signature is attached, no channel head moves."""

from __future__ import annotations

import re
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct

from config.hub_urls import urlpatterns
from hub import auth
from hub.chain.models import ChainTransaction
from hub.channels.models import Channel, ChannelUpdate, DepositAuthorization, ProposedUpdate
from hub.core import PaymentArgs, Signer, apply_update
from hub.core.signing import SECP256K1_N
from hub.custodial.models import CustodialWithdrawal
from hub.ledger.models import LedgerEntry
from hub.purchases.models import Payment, Purchase
from hub.threads.models import ThreadUpdate
from linkpay.models import Link
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import last_item, now_of
from tests.hub.api.user_sim import UserSim
from tests.purchases.helpers import funded_user, pay_request

pytestmark = [pytest.mark.django_db(transaction=True)]


def world() -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    return {
        "channel_updates": list(ChannelUpdate.objects.order_by("id").values_list(
            "id", "sig_user", "invalid")),
        "heads": list(Channel.objects.order_by("id").values_list("id", "latest_update_id", "status")),
        "proposals": list(ProposedUpdate.objects.order_by("id").values_list("id", "status")),
        "payments": Payment.objects.count(),
        "purchases": Purchase.objects.count(),
        "ledger": LedgerEntry.objects.count(),
        "deposit_authorizations": DepositAuthorization.objects.count(),
        "chain_transactions": list(ChainTransaction.objects.order_by("id").values_list("id", "state")),
        "custodial_withdrawals": CustodialWithdrawal.objects.count(),
        "thread_updates": ThreadUpdate.objects.count(),
        "links": Link.objects.count(),
    }


def mallory() -> Signer:
    return Signer(bytes(Account.create().key))


def personal_sign(key: bytes, text: str) -> str:
    return "0x" + bytes(Account.sign_message(encode_defunct(text=text), key).signature).hex()


def high_s(signature: str) -> str:
    """The same signer's signature in its other, non-canonical form (s → n - s, v flipped)."""
    raw = bytes.fromhex(signature.removeprefix("0x"))
    s = SECP256K1_N - int.from_bytes(raw[32:64], "big")
    v = 27 + 28 - raw[64]
    return "0x" + (raw[:32] + s.to_bytes(32, "big") + bytes([v])).hex()


def refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert body["error"] and body["message"]


# --- the nonce auth, on every authenticated route ------------------------------------------------

PLACEHOLDERS = {
    "user": "{user}", "sender": "{user}", "receiver": "{other}", "tx_count": "1", "which": "all",
    "purchase_id": "pur_" + "0" * 32, "withdrawal_id": "1", "link_id": "lnk_" + "0" * 24,
}


def authenticated_routes() -> list[tuple[str, str]]:
    """(method, path template) of every authenticated route of the hub API and every method it
    answers, from the URL configuration itself: a new route is covered without anyone adding it."""
    routes = []
    for pattern in urlpatterns:
        callback = pattern.callback
        if not getattr(callback, "protocol_auth", False):
            continue
        template = str(pattern.pattern).strip("^$")
        template = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: PLACEHOLDERS[m.group(1)], template)
        template = template.replace(r"\{", "{")
        routes.extend((method, template) for method in callback.protocol_methods)
    return routes


def test_the_route_list_covers_every_signed_route() -> None:
    routes = authenticated_routes()
    assert len(routes) == 26
    assert ("POST", "payments/purchase") in routes and ("POST", "channel/{user}/update") in routes
    assert ("POST", "thread/{user}/to/{other}/update") in routes
    assert ("POST", "custodial/withdrawals") in routes and ("POST", "payments/redeem/{user}") in routes
    assert all("(?P" not in template for _, template in routes)


@pytest.mark.parametrize(("method", "template"), authenticated_routes())
def test_every_signed_route_refuses_forged_malformed_replayed_and_expired_nonce_signatures(
        hub_chain: ChainEnv, monkeypatch: pytest.MonkeyPatch, method: str, template: str) -> None:
    sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    path = template.format(user=sim.address, other=Account.create().address.lower())
    sim.login()
    good = dict(sim.headers)
    nonce = good["x-nonce"]
    before = world()

    def send(headers: dict[str, str]) -> Any:
        sim.headers = headers
        return sim.get(path) if method == "GET" else sim.post(path, {})

    forgeries = {
        "another key signed the nonce": personal_sign(bytes(Account.create().key), nonce),
        "the user signed another text": personal_sign(bytes(sim.account.key), nonce + "0"),
        "the user's signature in its high-s form": high_s(good["x-signature"]),
        "not hex": "0x" + "zz" * 65,
        "64 bytes": good["x-signature"][:-2],
        "no signature": "",
    }
    for what, signature in forgeries.items():
        response = send({**good, "x-signature": signature})
        expected = "auth_required" if not signature else "bad_signature"
        assert response.status_code == 403, (what, response.content)
        assert response.json()["code"] == expected, what
    # the user's own signature, presented for another address
    response = send({**good, "x-address": Account.create().address.lower()})
    refused(response, 403, "nonce_invalid")
    # a nonce from a later login, presented after the nonce's two hours (a new login does not end
    # earlier sessions: tests/hub/api/test_protocol_auth.py)
    sim.login()
    fresh = dict(sim.headers)
    issued = auth.now()
    monkeypatch.setattr(auth, "now", lambda: issued + 2 * 3600 + 5)
    refused(send(fresh), 403, "nonce_expired")
    assert world() == before


# --- purchases: the payer's signed Payment states ------------------------------------------------

def purchase_body(payment: dict[str, Any]) -> dict[str, Any]:
    return {"meta": {"orderId": "o-1"}, "payments": [payment]}


def with_sig(payment: dict[str, Any], signature: str) -> dict[str, Any]:
    return {**payment, "update": {**payment["update"], "sigUser": signature}}


@pytest.mark.chain
def test_a_purchase_with_a_forged_wrong_replayed_or_stale_payment_signature_is_refused(
        hub_chain: ChainEnv) -> None:
    payer = funded_user(hub_chain, tokens=10 * TOKEN)
    shop = Account.create().address.lower()
    start = payer.latest
    before = world()

    def attempt(body: dict[str, Any], status: int, code: str) -> None:
        payer.state = start
        refused(payer.post("payments/purchase", body), status, code)
        assert world() == before

    honest = pay_request(payer, shop, token=TOKEN, ptype="PT_CUSTODIAL")
    signed_state = payer.latest
    # the exact state, signed by someone else than the payer (the hub's own key included)
    attempt(purchase_body(with_sig(honest, mallory().sign_channel_state(
        signed_state, as_party="user").sig_user or "")), 400, "bad_signature")
    from hub.chain.signer import hub_private_key

    attempt(purchase_body(with_sig(honest, Signer(hub_private_key()).sign_channel_state(
        signed_state, as_party="user").sig_user or "")), 400, "bad_signature")
    # the payer's signature over a different state: 2 tokens signed, 1 token claimed
    payer.state = start
    bigger = pay_request(payer, shop, token=2 * TOKEN, ptype="PT_CUSTODIAL")
    attempt(purchase_body(with_sig(honest, bigger["update"]["sigUser"])), 400, "bad_signature")
    # non-canonical and malformed signatures
    attempt(purchase_body(with_sig(honest, high_s(honest["update"]["sigUser"]))), 400, "bad_signature")
    attempt(purchase_body(with_sig(honest, "0x" + "00" * 65)), 400, "bad_signature")
    # one forged payment beside an honest one: nothing of the purchase happens
    payer.state = start
    first = pay_request(payer, shop, token=TOKEN, ptype="PT_CUSTODIAL")
    second = pay_request(payer, shop, token=TOKEN, ptype="PT_CUSTODIAL")
    attempt({"meta": {}, "payments": [first, with_sig(second, mallory().sign_channel_state(
        payer.latest, as_party="user").sig_user or "")]}, 400, "bad_signature")

    # the honest purchase goes through once; replaying it (same body) is refused
    payer.state = start
    honest = pay_request(payer, shop, token=TOKEN, ptype="PT_CUSTODIAL")
    response = payer.post("payments/purchase", purchase_body(honest))
    assert response.status_code == 200, response.content
    after_one = world()
    assert after_one["payments"] == before["payments"] + 1
    refused(payer.post("payments/purchase", purchase_body(honest)), 400, "tx_count_global")
    assert world() == after_one
    # a payment signed on the state before the last one (stale: its txCount is taken)
    stale_prev = start
    args = PaymentArgs(recipient="hub", amount_wei=0, amount_token=3 * TOKEN)
    stale = payer.signer.sign_channel_state(apply_update(stale_prev, "Payment", args, now=0),
                                            as_party="user")
    body = purchase_body({**honest, "amount": {"amountWei": "0", "amountToken": str(3 * TOKEN)},
                          "update": {"reason": "Payment", "args": args.to_json(),
                                     "txCount": stale.tx_count_global, "sigUser": stale.sig_user}})
    refused(payer.post("payments/purchase", body), 400, "tx_count_global")
    # ... and the same stale state renumbered onto the head: the signature is over other balances
    body["payments"][0]["update"]["txCount"] = stale.tx_count_global + 1
    refused(payer.post("payments/purchase", body), 400, "bad_signature")
    assert world() == after_one


# --- countersignatures of hub-signed states (`update` with an existing txCount) -----------------

def request_deposit(sim: UserSim, *, wei: int) -> dict[str, Any]:
    item = last_item(sim.post(f"channel/{sim.address}/request-deposit", {
        "depositWei": str(wei), "depositToken": "0",
        "sigUser": sim.signer.sign_deposit_request(0, wei), "lastChanTx": sim.latest.tx_count_global}))
    assert item["update"]["reason"] == "ProposePendingDeposit" and item["update"]["sigHub"]
    return item


@pytest.mark.chain
def test_a_forged_or_conflicting_countersignature_of_a_hub_signed_state_is_refused(
        hub_chain: ChainEnv) -> None:
    sim = UserSim(hub_chain.new_user(eth=0), hub_chain.deployment.channel_manager)
    sim.login()
    item = request_deposit(sim, wei=ETH)
    honest = sim.accept(item, now=now_of(hub_chain))  # computed locally; not posted yet
    state = sim.latest
    row = ChannelUpdate.objects.get(channel__user=sim.address, tx_count_global=honest["txCount"])
    assert row.sig_user is None
    before = world()

    def countersign(signature: str) -> Any:
        return sim.post(f"channel/{sim.address}/update", {"updates": [{**honest, "sigUser": signature}]})

    other_state = state.replace(timeout=state.timeout + 1, sig_user=None)
    forgeries = {
        "another key": mallory().sign_channel_state(state.replace(sig_user=None), as_party="user"
                                                    ).sig_user,
        "the user, over another state": sim.signer.sign_channel_state(other_state, as_party="user"
                                                                       ).sig_user,
        "the user's high-s form": high_s(honest["sigUser"]),
        "the hub's own signature": item["update"]["sigHub"],
        "zeros": "0x" + "00" * 65,
    }
    for what, signature in forgeries.items():
        response = countersign(signature or "")
        assert response.status_code == 400, (what, response.content)
        assert response.json()["code"] == "bad_signature", what
        assert world() == before, what
    refused(sim.post(f"channel/{sim.address}/update", {"updates": [{**honest, "sigUser": None}]}),
            400, "bad_signature")
    # the wrong reason for that txCount, and a txCount that does not exist
    refused(sim.post(f"channel/{sim.address}/update", {"updates": [{**honest, "reason": "Exchange"}]}),
            400, "state_mismatch")
    assert world() == before

    # the honest countersignature is stored once; a replay of it changes nothing, another
    # signature for the same state is a conflict
    assert countersign(honest["sigUser"]).status_code == 200
    row.refresh_from_db()
    assert row.sig_user == honest["sigUser"].lower()
    after = world()
    assert countersign(honest["sigUser"]).status_code == 200
    assert world() == after
    refused(countersign(forgeries["another key"] or ""), 400, "signature_conflict")
    assert world() == after


def test_a_countersignature_of_a_state_that_does_not_exist_is_refused(hub_chain: ChainEnv) -> None:
    sim = UserSim(hub_chain.new_user(eth=0), hub_chain.deployment.channel_manager)
    sim.login()
    request_deposit(sim, wei=ETH)
    before = world()
    response = sim.post(f"channel/{sim.address}/update", {"updates": [{
        "reason": "ProposePendingDeposit", "args": {}, "txCount": 0, "sigUser": "0x" + "11" * 65}]})
    refused(response, 400, "update_not_found")  # the update route answers every refusal 400
    assert world() == before


# --- new states the user signs: a payment to the hub, an accepted proposal, an invalidation ------

@pytest.mark.chain
def test_forged_new_states_on_the_update_route_are_refused_and_change_nothing(
        hub_chain: ChainEnv) -> None:
    sim = funded_user(hub_chain, wei=ETH // 10)
    start = sim.latest

    def post(request: dict[str, Any]) -> Any:
        return sim.post(f"channel/{sim.address}/update", {"updates": [request]})

    # a payment to the hub, signed by someone else / over other balances / stale
    args = PaymentArgs(recipient="hub", amount_wei=1000, amount_token=0)
    new = apply_update(start, "Payment", args, now=0)
    payment = {"reason": "Payment", "args": args.to_json(), "txCount": new.tx_count_global}
    before = world()
    refused(post({**payment, "sigUser": mallory().sign_channel_state(new, as_party="user").sig_user}),
            400, "bad_signature")
    other = apply_update(start, "Payment", PaymentArgs(recipient="hub", amount_wei=2000,
                                                       amount_token=0), now=0)
    refused(post({**payment, "sigUser": sim.signer.sign_channel_state(other, as_party="user").sig_user}),
            400, "bad_signature")
    honest_sig = sim.signer.sign_channel_state(new, as_party="user").sig_user
    assert honest_sig is not None
    refused(post({**payment, "sigUser": high_s(honest_sig)}), 400, "bad_signature")
    refused(post({**payment, "txCount": new.tx_count_global + 1, "sigUser": honest_sig}),
            400, "tx_count_global")
    assert world() == before
    # the honest payment is applied once; its replay changes nothing
    assert post({**payment, "sigUser": honest_sig}).status_code == 200
    sim.state = new.replace(sig_user=honest_sig)
    after_payment = world()
    assert len(after_payment["channel_updates"]) == len(before["channel_updates"]) + 1
    assert post({**payment, "sigUser": honest_sig}).status_code == 200
    assert world() == after_payment

    # the hub's collateral proposal, accepted with a forged signature: no state, no transaction
    item = last_item(sim.post(f"channel/{sim.address}/request-collateralization", {}))
    assert item["update"]["reason"] == "ProposePendingDeposit" and item["update"]["txCount"] is None
    before = world()
    proposal = sim.accept(item, now=now_of(hub_chain))
    proposal["txCount"] = sim.latest.tx_count_global
    proposed_state = sim.latest
    sim.state = sim.latest.replace(sig_user=None)
    refused(post({**proposal, "sigUser": mallory().sign_channel_state(
        proposed_state.replace(sig_user=None), as_party="user").sig_user}), 400, "bad_signature")
    refused(post({**proposal, "sigUser": high_s(proposal["sigUser"])}), 400, "bad_signature")
    assert world() == before
    assert ProposedUpdate.objects.get(channel__user=sim.address, status="open")
    accepted = post(proposal)
    assert accepted.status_code == 200, accepted.content
    stored = next(i["update"] for i in accepted.json()["updates"]["updates"]
                  if i["update"]["txCount"] == proposal["txCount"])
    proposed_state = proposed_state.replace(sig_hub=stored["sigHub"])
    sim.state = proposed_state
    after_accept = world()
    assert len(after_accept["chain_transactions"]) == len(before["chain_transactions"]) + 1

    # an invalidation of that pending deposit, forged: the hub's transaction stays queued
    from hub.core import InvalidationArgs

    inv_args = InvalidationArgs(invalid_tx_count=proposed_state.tx_count_global,
                                reason="CU_INVALID_ERROR")
    invalidated = apply_update(proposed_state, "Invalidation", inv_args, now=now_of(hub_chain))
    invalidation = {"reason": "Invalidation", "args": inv_args.to_json(),
                    "txCount": invalidated.tx_count_global}
    refused(post({**invalidation, "sigUser": mallory().sign_channel_state(
        invalidated, as_party="user").sig_user}), 400, "bad_signature")
    refused(post({**invalidation, "sigUser": sim.signer.sign_channel_state(
        invalidated.replace(timeout=1), as_party="user").sig_user}), 400, "bad_signature")
    assert world() == after_accept
    honest = sim.signer.sign_channel_state(invalidated, as_party="user").sig_user
    # the genuine one cancels the unsent transaction (so the forged ones were refused for their
    # signature, not for anything else about the request)
    assert post({**invalidation, "sigUser": honest}).status_code == 200
    assert ChainTransaction.objects.get(pk=after_accept["chain_transactions"][-1][0]).state == "failed"
    assert Channel.objects.get(user=sim.address).latest_update.reason == "Invalidation"


# --- deposit requests ---------------------------------------------------------------------------

def test_a_deposit_request_signed_for_other_amounts_or_replayed_on_a_new_state_is_refused(
        hub_chain: ChainEnv) -> None:
    sim = UserSim(hub_chain.new_user(eth=0), hub_chain.deployment.channel_manager)
    sim.login()
    before = world()
    wrong_amount = sim.signer.sign_deposit_request(0, 2 * ETH)
    refused(sim.post(f"channel/{sim.address}/request-deposit", {
        "depositWei": str(ETH), "depositToken": "0", "sigUser": wrong_amount}), 400, "bad_signature")
    swapped = sim.signer.sign_deposit_request(ETH, 0)  # tokens and wei swapped
    refused(sim.post(f"channel/{sim.address}/request-deposit", {
        "depositWei": str(ETH), "depositToken": "0", "sigUser": swapped}), 400, "bad_signature")
    refused(sim.post(f"channel/{sim.address}/request-deposit", {
        "depositWei": str(ETH), "depositToken": "0",
        "sigUser": high_s(sim.signer.sign_deposit_request(0, ETH))}), 400, "bad_signature")
    assert world() == before
