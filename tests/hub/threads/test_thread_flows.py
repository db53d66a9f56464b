"""Threads through the protocol API on anvil: open, 100 thread payments, close; the switch; the
hub's collateral requirement; PT_THREAD purchases; the read routes and the sync."""

from __future__ import annotations

import pytest

from hub.channels.models import ChannelUpdate
from hub.channels.reconciliation import reconcile_channels
from hub.core import ZERO_ROOT
from hub.purchases.models import Payment
from hub.threads.models import ThreadRecord, ThreadUpdate
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.threads.helpers import switch_threads, thread_user
from tests.purchases.helpers import collateralize

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

STEP = TOKEN // 20  # 0.05 token per payment


def _pair(env: ChainEnv) -> tuple:
    alice = thread_user(env, tokens=20 * TOKEN)
    bob = thread_user(env, wei=ETH // 10)
    collateralize(env, bob.sim)
    bob.sync(env)
    return alice, bob


def test_open_pay_100_times_and_close(hub_chain: ChainEnv) -> None:
    switch_threads(True)
    alice, bob = _pair(hub_chain)
    hub_before = bob.sim.latest.balance_token_hub
    assert hub_before >= 5 * TOKEN

    response = alice.open_thread(bob.address, token=5 * TOKEN)
    assert response.status_code == 200, response.content
    assert alice.sim.latest.balance_token_user == 15 * TOKEN
    assert alice.sim.latest.thread_count == 1 and alice.sim.latest.thread_root != ZERO_ROOT
    assert bob.sync(hub_chain) == ["OpenThread"]  # the hub's mirror, countersigned by bob
    assert bob.sim.latest.balance_token_hub == hub_before - 5 * TOKEN
    assert bob.sim.latest.thread_root == alice.sim.latest.thread_root
    key = (alice.address, bob.address, 1)

    for i in range(100):
        _, response = alice.thread_pay(bob.address, token=STEP)
        assert response.status_code == 200, (i, response.content)
        assert response.json()["state"]["txCount"] == i + 1
    # bob sees the latest thread state through the sync and closes with it
    bob.sync(hub_chain)
    assert bob.threads[key].tx_count == 100
    assert bob.threads[key].balance_token_receiver == 100 * STEP == 5 * TOKEN

    # reads
    assert alice.sim.get(f"thread/{alice.address}/last-update-id").json() == {
        "latestThreadUpdateId": ThreadUpdate.objects.order_by("-id").first().pk}
    row = bob.sim.get(f"thread/{alice.address}/to/{bob.address}").json()
    assert row["status"] == "CT_OPEN" and row["state"]["txCount"] == 100
    assert [t["threadId"] for t in bob.sim.get(f"thread/{bob.address}/initial-states").json()] == [1]
    assert len(bob.sim.get(f"thread/{bob.address}/incoming").json()) == 1
    assert alice.sim.get(f"thread/{alice.address}/active").json()[0]["txCount"] == 100

    response = bob.close_thread(key)
    assert response.status_code == 200, response.content
    assert bob.sim.latest.balance_token_user == 5 * TOKEN
    assert bob.sim.latest.balance_token_hub == hub_before - 5 * TOKEN
    assert bob.sim.latest.thread_count == 0 and bob.sim.latest.thread_root == ZERO_ROOT
    assert alice.sync(hub_chain) == ["CloseThread"]
    assert alice.sim.latest.balance_token_user == 15 * TOKEN
    assert alice.sim.latest.balance_token_hub == 5 * TOKEN
    assert alice.sim.latest.thread_count == 0

    thread = ThreadRecord.objects.get()
    assert thread.status == "closed" and thread.latest.tx_count == 100
    # the parties' channels have no proposal left unsigned (the session's anvil is shared: a
    # DidEmptyChannel of an earlier test's channel, ingested during this test, may leave one there)
    parties = [alice.address, bob.address, alice.address.lower(), bob.address.lower()]
    assert not ChannelUpdate.objects.filter(channel__user__in=parties, sig_user__isnull=True,
                                            invalid__isnull=True).exists()
    assert bob.sim.get(f"thread/{bob.address}/active").json() == []
    assert [t["txCount"] for t in bob.sim.get(f"thread/{bob.address}/all").json()] == [100]
    assert reconcile_channels().ok

    # the next thread between them takes the next id
    assert alice.open_thread(bob.address, token=TOKEN, thread_id=1).json()["code"] == "bad_args"
    assert alice.open_thread(bob.address, token=TOKEN, thread_id=2).status_code == 200


def test_the_hub_needs_collateral_in_the_receivers_channel(hub_chain: ChainEnv) -> None:
    switch_threads(True)
    alice = thread_user(hub_chain, tokens=20 * TOKEN)
    bob = thread_user(hub_chain, wei=ETH // 10)
    response = alice.open_thread(bob.address, token=5 * TOKEN)
    assert response.status_code == 400 and response.json()["code"] == "insufficient_collateral"
    assert ThreadRecord.objects.count() == 0
    proposal = bob.sim.get(f"channel/{bob.address}/sync?lastChanTx=0").json()["updates"][-1]
    assert proposal["update"]["reason"] == "ProposePendingDeposit"  # a top-up was requested


def test_threads_can_be_switched_off_at_run_time(hub_chain: ChainEnv) -> None:
    switch_threads(True)
    alice, bob = _pair(hub_chain)
    assert alice.open_thread(bob.address, token=TOKEN).status_code == 200
    bob.sync(hub_chain)
    switch_threads(False)
    _, response = alice.thread_pay(bob.address, token=STEP)
    assert response.status_code == 403 and response.json()["code"] == "threads_disabled"
    # closing is always allowed, so no value stays locked in a thread
    assert bob.close_thread((alice.address, bob.address, 1)).status_code == 200
    carol = thread_user(hub_chain, tokens=2 * TOKEN)
    response = carol.open_thread(bob.address, token=TOKEN)
    assert response.status_code == 400 and response.json()["code"] == "threads_disabled"
    switch_threads(True)
    assert alice.sync(hub_chain) == ["CloseThread"]


def test_pt_thread_purchases_and_refusals(hub_chain: ChainEnv) -> None:
    switch_threads(True)
    alice, bob = _pair(hub_chain)
    assert alice.open_thread(bob.address, token=2 * TOKEN).status_code == 200
    key = (alice.address, bob.address, 1)
    from hub.core import thread_payment

    def purchase(amount: int, pay: int | None = None) -> object:
        state = alice.sim.signer.sign_thread_state(
            thread_payment(alice.threads[key], 0, amount if pay is None else pay))
        response = alice.sim.post("payments/purchase", {"meta": {"orderId": "t"}, "payments": [{
            "recipient": bob.address, "type": "PT_THREAD", "meta": {},
            "amount": {"amountWei": "0", "amountToken": str(amount)},
            "update": {"state": state.to_json()}}]})
        if response.status_code == 200:
            alice.threads[key] = state
        return response

    for _ in range(3):
        assert purchase(STEP).status_code == 200
    assert purchase(STEP, pay=2 * STEP).json()["code"] == "bad_args"  # amount mismatch
    payments = list(Payment.objects.filter(type="PT_THREAD"))
    assert len(payments) == 3 and all(p.payer_update.reason == "OpenThread" for p in payments)
    # an older state cannot close the thread (it would take from bob)
    first = ThreadUpdate.objects.get(tx_count=1).to_state(ThreadRecord.objects.get())
    assert alice.close_thread(key, first).json()["code"] == "state_mismatch"
    assert alice.close_thread(key).status_code == 200
    assert alice.sim.latest.balance_token_user == 18 * TOKEN + 2 * TOKEN - 3 * STEP
    bob.sync(hub_chain)
    assert bob.sim.latest.balance_token_user == 3 * STEP
    assert reconcile_channels().ok


def test_thread_routes_are_for_the_parties_only(hub_chain: ChainEnv) -> None:
    switch_threads(True)
    alice, bob = _pair(hub_chain)
    assert alice.open_thread(bob.address, token=TOKEN).status_code == 200
    mallory = thread_user(hub_chain)
    assert mallory.sim.get(f"thread/{alice.address}/to/{bob.address}").status_code == 403
    assert mallory.sim.get(f"thread/{alice.address}/active").status_code == 403
    # a state signed by someone else than the sender is refused
    from hub.core import thread_payment

    forged = mallory.sim.signer.sign_thread_state(
        thread_payment(alice.threads[(alice.address, bob.address, 1)], 0, STEP))
    response = bob.sim.post(f"thread/{alice.address}/to/{bob.address}/update",
                            {"update": {"state": forged.to_json()}})
    assert response.status_code == 400 and response.json()["code"] == "bad_signature"
