"""Payments land the first time while the hub is busy in the payer's channel.

- A PT_CHANNEL payment to a user who is paying (a payment of their own in the last
  DELIVERY_YIELD_MS) is held by the hub instead of signed into their channel at once, so it does
  not take the txCount their next payment is being signed for; their next purchase delivers it
  after their own payment (in that purchase's answer), or the worker does after the pause.
- A hub collateral top-up proposed before the user's own payments moved the channel on is still
  accepted when the user countersigns it on top of them (it was refused as stale before, and the
  top-up never landed in a busy channel).
- Three SDK wallets (the client unchanged) pay each other concurrently: after each
  wallet's first payment, no payment is refused because of something the hub did.

bench/network_bench.py runs the full experiment (six wallets, 20 s, WebSockets, real worker)."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from spoke_client import (
    Channel,
    ChannelManagerClient,
    HubClient,
    HubError,
    MemoryStateStore,
    UserKey,
)

from hub.channels.models import ChannelUpdate, ProposedUpdate
from hub.channels.reconciliation import reconcile_channels
from hub.purchases.models import Payment
from hub.purchases.services import deliver_held
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import ingest_all, now_of, run_hub_transactions
from tests.purchases.helpers import accept_hub_updates, collateralize, funded_user, pay_request
from tests.purchases.test_concurrency import total_value

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True), pytest.mark.delivery_yield]


def pay(sim: Any, recipient: str, tokens: int) -> Any:
    response = sim.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(sim, recipient, token=tokens * TOKEN, ptype="PT_CHANNEL")]})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture(autouse=True)
def _long_pause(settings: Any) -> None:
    """A pause no slow machine outlasts between two steps of a test (the default is 1 s)."""
    settings.DELIVERY_YIELD_MS = 600_000


def test_a_payment_to_a_user_who_is_paying_waits_for_their_next_payment(hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    bob = funded_user(hub_chain, tokens=20 * TOKEN)
    collateralize(hub_chain, alice)
    collateralize(hub_chain, bob)
    value = total_value()
    pay(bob, alice.address, 1)  # bob is paying
    assert accept_hub_updates(hub_chain, alice) == ["Payment"]  # alice is not paying
    bob_head = bob.latest.tx_count_global

    pay(alice, bob.address, 2)  # while bob is paying: held, nothing signed into bob's channel
    held = Payment.objects.get(sender=alice.address)
    assert (held.status, held.disbursement) == ("pending", None)
    assert ChannelUpdate.objects.filter(channel__user=bob.address).count() == bob_head

    # bob's next payment, signed on the state bob knows, lands; the answer brings the delivery
    body = pay(bob, alice.address, 3)
    assert [u["update"]["reason"] for u in body["sync"]["updates"]] == ["Payment", "Payment"]
    assert [u["update"]["txCount"] for u in body["sync"]["updates"]] == [bob_head + 1, bob_head + 2]
    held.refresh_from_db()
    assert held.status == "completed" and held.disbursement.tx_count_global == bob_head + 2
    assert accept_hub_updates(hub_chain, bob) == ["Payment"]
    assert bob.latest.balance_token_user == (20 - 1 - 3 + 2) * TOKEN
    assert total_value() == value and reconcile_channels(check_chain=False).ok


def test_the_worker_delivers_what_a_user_who_stopped_paying_did_not_collect(
        hub_chain: ChainEnv, settings: Any) -> None:
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    bob = funded_user(hub_chain, tokens=20 * TOKEN)
    collateralize(hub_chain, bob)
    collateralize(hub_chain, alice)
    value = total_value()
    pay(bob, alice.address, 1)
    accept_hub_updates(hub_chain, alice)
    pay(alice, bob.address, 2)
    assert Payment.objects.get(sender=alice.address).status == "pending"
    assert deliver_held(recipient=bob.address) == 0  # bob is still paying: the worker waits
    # bob stopped: his last payment is older than the pause (the pause shortened, not slept)
    settings.DELIVERY_YIELD_MS = 1
    while ChannelUpdate.objects.filter(channel__user=bob.address, originator=bob.address,
                                       created_at__gte=timezone.now() - timedelta(milliseconds=3)).exists():
        time.sleep(0.001)
    assert deliver_held(recipient=bob.address) == 1
    assert deliver_held(recipient=bob.address) == 0  # exactly once
    assert accept_hub_updates(hub_chain, bob) == ["Payment"]
    assert Payment.objects.get(sender=alice.address).status == "completed"
    assert total_value() == value and reconcile_channels(check_chain=False).ok


def test_a_payment_the_hub_could_not_cover_is_refused_not_held(hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    bob = funded_user(hub_chain, tokens=20 * TOKEN)
    pay_to_hub = pay_request(bob, "0x" + "5e" * 20, token=TOKEN, ptype="PT_CUSTODIAL")
    assert bob.post("payments/purchase", {"meta": {}, "payments": [pay_to_hub]}).status_code == 200
    hub_side = int(bob.get(f"channel/{bob.address}").json()["state"]["balanceTokenHub"])
    saved = alice.state
    response = alice.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(alice, bob.address, token=hub_side + TOKEN, ptype="PT_CHANNEL")]})
    alice.state = saved
    assert response.status_code == 409, response.content  # more than the hub has in bob's channel
    assert response.json()["code"] == "insufficient_collateral"
    assert not Payment.objects.filter(sender=alice.address).exists()


def test_a_top_up_proposed_before_the_users_payment_is_accepted_after_it(hub_chain: ChainEnv) -> None:
    bob = funded_user(hub_chain, tokens=20 * TOKEN)
    shop = "0x" + "5e" * 20
    item = bob.post(f"channel/{bob.address}/request-collateralization", {}).json()["updates"][-1]
    assert item["update"]["reason"] == "ProposePendingDeposit"
    proposal = ProposedUpdate.objects.get(channel__user=bob.address)
    # bob pays before countersigning: the proposal's txCount is taken by the payment
    assert bob.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(bob, shop, token=TOKEN, ptype="PT_CUSTODIAL")]}).status_code == 200
    assert bob.latest.tx_count_global == proposal.tx_count_global
    request = bob.accept(item, now=now_of(hub_chain))
    request["txCount"] = bob.latest.tx_count_global
    response = bob.post(f"channel/{bob.address}/update", {"updates": [request]})
    assert response.status_code == 200, response.content
    proposal.refresh_from_db()
    assert proposal.status == "accepted"
    assert proposal.accepted_update.tx_count_global == proposal.tx_count_global + 1
    run_hub_transactions()
    ingest_all()
    assert reconcile_channels(check_chain=False).ok


def sdk_wallet(env: ChainEnv, url: str) -> Channel:
    account = env.new_user(eth=ETH, tokens=30 * TOKEN)
    key = UserKey(bytes(account.key))
    hub = HubClient(url, key)
    config = hub.config()
    chain = ChannelManagerClient(env.w3, config["contractAddress"], account=key.account,
                                 token_address=config["tokenAddress"])
    wallet = Channel(hub, store=MemoryStateStore(), chain=chain, config=config)
    wallet.deposit(amount_token=30 * TOKEN, wait=False)
    ingest_all()
    wallet.sync()
    wallet.request_collateral()
    run_hub_transactions()
    ingest_all()
    wallet.sync()
    assert wallet.state.balance_token_hub > 0 and not wallet.state.has_pending_ops
    return wallet


def test_sdk_wallets_paying_each_other_are_not_refused_for_what_the_hub_did(
        hub_chain: ChainEnv, live_server: Any, tmp_path: Path, settings: Any) -> None:
    url = live_server.url + "/api/hub"
    wallets = [sdk_wallet(hub_chain, url) for _ in range(3)]
    deposited = sum(w.state.balance_token_user for w in wallets)
    first: Counter[str] = Counter()
    later: Counter[str] = Counter()
    lock = threading.Lock()

    def payer(index: int) -> None:
        rng = random.Random(index)
        wallet = wallets[index]
        others = [w.user for w in wallets if w is not wallet]
        try:
            for number in range(8):
                for attempt in range(20):
                    try:
                        wallet.pay(rng.choice(others), amount_token=rng.randint(1, 10**17))
                        code = "ok"
                    except HubError as exc:
                        code = exc.code
                    with lock:
                        # a wallet's first payment may meet payments made to it before it paid
                        (first if number and not attempt else later)[code] += 1
                    if code == "ok":
                        break
                    wallet.sync()
        finally:
            connection.close()

    threads = [threading.Thread(target=payer, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(first) == {"ok"}, first  # no payment refused because of the hub's own updates
    assert first["ok"] == 3 * 7
    settings.DELIVERY_YIELD_MS = 0  # the worker's delivery of what is still held
    for wallet in wallets:
        deliver_held(recipient=wallet.user.lower())
    assert not Payment.objects.filter(status="pending").exists()
    for wallet in wallets:
        wallet.sync()
        channel_head = ChannelUpdate.objects.filter(channel__user=wallet.user.lower()).order_by(
            "-tx_count_global").first()
        assert (wallet.state.tx_count_global, wallet.state.sig_user) == (
            channel_head.tx_count_global, channel_head.sig_user)
    assert sum(w.state.balance_token_user for w in wallets) == deposited
    assert reconcile_channels(check_chain=False).ok
