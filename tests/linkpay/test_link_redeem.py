"""PT_LINK purchases and `POST payments/redeem/:user` on anvil: the hold, redemption into a
channel (at once, or pending until collateral arrives), refusals and the guess limit."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from eth_account import Account

from hub.channels.reconciliation import reconcile_channels
from hub.ledger.services import account_balance
from hub.purchases.models import Payment
from linkpay.errors import REDEEMED_MESSAGE
from linkpay.models import Link
from linkpay.secret import secret_new
from linkpay.selectors import link_held_total, link_open_total
from linkpay.services import link_redemptions_complete
from payments.events.models import Event
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import confirm_from_chain, now_of, run_hub_transactions
from tests.hub.api.user_sim import UserSim
from tests.linkpay import secret_scan
from tests.linkpay.helpers import buy_link, link_entries, redeem
from tests.linkpay.secret_scan import register
from tests.purchases.helpers import accept_hub_updates, collateralize, funded_user

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_a_link_purchase_holds_the_amount_and_keeps_only_the_secrets_hash(hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    secret, link = buy_link(alice, token=3 * TOKEN, meta={"note": "happy birthday", "expiresIn": 7200})
    assert (link.status, link.asset, link.amount, link.sender, link.note) == (
        "open", "token", 3 * TOKEN, alice.address, "happy birthday")
    assert link.secret_hash != secret and len(link.secret_hash) == 64
    assert 7190 <= (link.expires_at - link.created_at).total_seconds() <= 7210
    payment = Payment.objects.get()
    assert (payment.type, payment.recipient) == ("PT_LINK", "0x" + "0" * 40)
    assert "secret" not in payment.meta
    history = alice.get(f"payments/history/{alice.address}")
    assert history.status_code == 200 and secret[2:] not in history.content.decode().lower()
    assert account_balance(link.ledger_account, "token") == 3 * TOKEN
    assert link_held_total("token") == link_open_total("token") == 3 * TOKEN
    assert alice.latest.balance_token_user == 17 * TOKEN
    assert list(Event.objects.values_list("type", flat=True)) == ["link.created"]


def test_a_secret_in_the_purchase_meta_makes_the_link_and_is_stored_and_echoed_nowhere(
        hub_chain: ChainEnv) -> None:
    """Some wallets put `secret` in the purchase's meta, not the payment's."""
    from hub.core.state import ZERO_ADDRESS
    from hub.purchases.models import Purchase
    from tests.purchases.helpers import pay_request

    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    secret = register(secret_new())
    response = alice.post("payments/purchase", {"meta": {"secret": secret, "orderId": "o-7"}, "payments": [
        pay_request(alice, ZERO_ADDRESS, token=2 * TOKEN, ptype="PT_LINK", meta={"note": "for you"})]})
    assert response.status_code == 200, response.content
    assert secret[2:] not in response.content.decode().lower()
    purchase = Purchase.objects.get()
    assert purchase.meta == {"orderId": "o-7"}
    assert Payment.objects.get().meta == {"orderId": "o-7", "note": "for you"}
    for path in (f"payments/history/{alice.address}", f"payments/purchase/{purchase.pk}"):
        echoed = alice.get(path)
        assert echoed.status_code == 200 and secret[2:] not in echoed.content.decode().lower()
    assert secret_scan.scan_database([secret]) == []
    bob = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, bob)
    assert redeem(bob, secret).json()["status"] == "completed"


def test_a_secret_copied_anywhere_else_in_the_request_is_removed_before_it_is_stored(
        hub_chain: ChainEnv) -> None:
    from hub.core.state import ZERO_ADDRESS
    from hub.purchases.models import Purchase
    from tests.purchases.helpers import pay_request

    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    secret = register(secret_new())
    response = alice.post("payments/purchase", {
        "meta": {"orderId": "o-8", "wallet": {"lastLink": {"Secret": secret.upper()}},
                 "debug": f"made link {secret[2:]}", "tags": ["gift", secret]},
        "payments": [pay_request(alice, ZERO_ADDRESS, token=TOKEN, ptype="PT_LINK",
                                 meta={"secret": secret, "url": f"https://pay.example/l/x#{secret}"})]})
    assert response.status_code == 200, response.content
    assert Purchase.objects.get().meta == {"orderId": "o-8", "wallet": {"lastLink": {}}, "tags": ["gift"]}
    assert Payment.objects.get().meta == {"orderId": "o-8", "wallet": {"lastLink": {}}, "tags": ["gift"]}
    assert Link.objects.get().secret_hash != secret
    assert secret_scan.scan_database([secret]) == []


def test_a_weak_or_reused_secret_is_refused_and_nothing_is_paid(hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    from hub.core.state import ZERO_ADDRESS
    from tests.purchases.helpers import pay_request

    saved = alice.state
    weak = alice.post("payments/purchase", {"meta": {}, "payments": [pay_request(
        alice, ZERO_ADDRESS, token=TOKEN, ptype="PT_LINK", meta={"secret": "0x1234"})]})
    assert weak.status_code == 400 and "0x1234" not in weak.content.decode()
    alice.state = saved
    secret, _ = buy_link(alice, token=TOKEN)
    saved = alice.state
    reused = alice.post("payments/purchase", {"meta": {}, "payments": [pay_request(
        alice, ZERO_ADDRESS, token=TOKEN, ptype="PT_LINK", meta={"secret": secret})]})
    assert reused.status_code == 400 and reused.json()["code"] == "secret_in_use"
    assert secret[2:] not in reused.content.decode()
    alice.state = saved
    assert Link.objects.count() == 1 and Payment.objects.count() == 1


def test_a_collateralized_redeemer_is_paid_at_once_and_every_later_redeem_is_refused(
        hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    bob = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, bob)
    secret, link = buy_link(alice, token=4 * TOKEN)
    response = redeem(bob, secret)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "completed"
    assert body["amount"] == {"amountWei": "0", "amountToken": str(4 * TOKEN)}
    assert body["purchaseId"] == link.payment.purchase_id and body["linkId"] == link.public_id
    assert [u["update"]["reason"] for u in body["sync"]["updates"]] == ["Payment"]
    assert accept_hub_updates(hub_chain, bob) == ["Payment"]
    assert bob.latest.balance_token_user == 4 * TOKEN
    link.refresh_from_db()
    assert (link.status, link.redeemer, link.payout) == ("redeemed", bob.address, "channel")
    assert link_entries(link) == [(4 * TOKEN, f"link {link.public_id} held"),
                                  (-4 * TOKEN, f"link {link.public_id} redeemed")]

    carol = funded_user(hub_chain)
    for who in (carol, bob, alice):
        again = redeem(who, secret)
        assert again.status_code == 400
        body = again.json()
        assert body["request_id"] == again["Request-Id"] and body["type"] == "invalid_request_error"
        assert {k: body[k] for k in ("error", "code", "message", "param")} == {
            "error": REDEEMED_MESSAGE, "code": "link_redeemed", "message": REDEEMED_MESSAGE, "param": None}
    assert reconcile_channels().ok
    assert list(Event.objects.order_by("id").values_list("type", flat=True)) == ["link.created", "link.redeemed"]


def test_a_redeemer_without_collateral_is_accepted_and_paid_when_collateral_arrives(
        hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    secret, link = buy_link(alice, token=2 * TOKEN)
    bob = UserSim(hub_chain.new_user(eth=ETH), hub_chain.deployment.channel_manager)  # no channel
    bob.login()
    response = redeem(bob, secret)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "pending" and body["amount"]["amountToken"] == str(2 * TOKEN)
    proposal = body["sync"]["updates"][-1]
    assert proposal["update"]["reason"] == "ProposePendingDeposit"
    assert int(proposal["update"]["args"]["depositTokenHub"]) >= 2 * TOKEN
    link.refresh_from_db()
    assert (link.status, link.redeemer) == ("redeeming", bob.address)
    assert account_balance(link.ledger_account, "token") == 2 * TOKEN  # still held
    assert link_redemptions_complete() == 0
    # a retry by the same redeemer is the same pending redemption; anyone else is refused
    assert redeem(bob, secret).json()["status"] == "pending"
    assert redeem(alice, secret).json()["message"] == REDEEMED_MESSAGE

    request = bob.accept(proposal, now=now_of(hub_chain))
    request["txCount"] = bob.latest.tx_count_global
    assert bob.post(f"channel/{bob.address}/update", {"updates": [request]}).status_code == 200
    run_hub_transactions()
    confirm_from_chain(hub_chain, bob)
    assert link_redemptions_complete() == 1
    assert link_redemptions_complete() == 0
    assert accept_hub_updates(hub_chain, bob) == ["Payment"]
    assert bob.latest.balance_token_user == 2 * TOKEN
    link.refresh_from_db()
    assert link.status == "redeemed" and account_balance(link.ledger_account, "token") == 0
    assert reconcile_channels().ok


# The limiter's window runs on the Redis server's clock. The tests make it longer than any run
# can take, so a slow machine cannot let the first failures leave the window mid-test.
LONG_WINDOW = 24 * 3600


def test_a_thousand_wrong_guesses_from_one_address_are_evaluated_at_most_ten_times(
        hub_chain: ChainEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    from linkpay import conf

    monkeypatch.setattr(conf, "LINK_GUESS_WINDOW_SECONDS", LONG_WINDOW)
    alice = funded_user(hub_chain, tokens=5 * TOKEN)
    secret, link = buy_link(alice, token=TOKEN)
    mallory = UserSim(Account.create(), hub_chain.deployment.channel_manager)
    mallory.login()
    statuses: list[int] = []
    retry_after: list[int] = []
    with CaptureQueriesContext(connection) as queries:
        for _ in range(1000):
            response = redeem(mallory, secret_new())
            statuses.append(response.status_code)
            if response.status_code == 429:
                retry_after.append(int(response["Retry-After"]))
                assert response.json()["code"] == "rate_limited"
    # the wait is until the first failure leaves the window: never more than the window, and
    # it only shrinks as the test goes on
    assert LONG_WINDOW - 3600 < retry_after[0] <= LONG_WINDOW  # the window, less the time spent
    assert 1 <= retry_after[-1] <= retry_after[0]
    assert retry_after == sorted(retry_after, reverse=True)
    assert statuses.count(404) == 10 and statuses.count(429) == 990
    assert statuses[:10] == [404] * 10
    lookups = [q for q in queries.captured_queries if '"linkpay_link"' in q["sql"]]
    assert len(lookups) == 10
    # even the right secret is not evaluated while the address is over its limit
    assert redeem(mallory, secret).status_code == 429
    link.refresh_from_db()
    assert link.status == "open"


def test_the_guess_limit_also_holds_per_ip_across_addresses(
        hub_chain: ChainEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    from linkpay import conf

    monkeypatch.setattr(conf, "LINK_GUESS_WINDOW_SECONDS", LONG_WINDOW)
    statuses = []
    for _ in range(4):
        sim = UserSim(Account.create(), hub_chain.deployment.channel_manager)
        sim.login()
        statuses += [redeem(sim, secret_new()).status_code for _ in range(5)]
    assert statuses.count(404) == 10 and statuses.count(429) == 10


def test_a_redeem_of_an_expired_link_is_refused_before_the_sweep_returns_it(hub_chain: ChainEnv) -> None:
    from datetime import timedelta

    from django.utils import timezone

    alice = funded_user(hub_chain, tokens=5 * TOKEN)
    secret, link = buy_link(alice, token=TOKEN)
    Link.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    bob = funded_user(hub_chain)
    response = redeem(bob, secret)
    assert response.status_code == 410 and response.json()["message"] == "Payment has expired."
    register(secret)


def test_a_link_made_from_the_secrets_hash_alone_is_redeemed_with_the_secret(hub_chain: ChainEnv) -> None:
    """The Spoke Card keeps its link secrets to itself: its PT_LINK names `meta.secretHash`."""
    import hashlib

    from hub.core.state import ZERO_ADDRESS
    from tests.purchases.helpers import pay_request

    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    bob = funded_user(hub_chain, tokens=TOKEN)
    secret = register(secret_new())
    hashed = hashlib.sha256(secret.encode()).hexdigest()
    agreed = alice.state
    for bad in ("0x" + hashed, hashed.upper(), hashed[:-1], 7):
        refused = alice.post("payments/purchase", {"meta": {}, "payments": [
            pay_request(alice, ZERO_ADDRESS, token=TOKEN, ptype="PT_LINK", meta={"secretHash": bad})]})
        assert refused.status_code == 400 and refused.json()["code"] == "bad_args", bad
        alice.state = agreed  # the refused payment never happened
    response = alice.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(alice, ZERO_ADDRESS, token=2 * TOKEN, ptype="PT_LINK", meta={"secretHash": hashed})]})
    assert response.status_code == 200, response.content
    link = Link.objects.get(payment__purchase_id=response.json()["purchaseId"])
    assert (link.secret_hash, link.amount, link.status) == (hashed, 2 * TOKEN, "open")
    assert redeem(bob, secret).status_code == 200
    link.refresh_from_db()
    assert link.redeemer == bob.address
