"""Purchases through the hub on anvil: PT_CHANNEL, PT_CUSTODIAL, PT_OPTIMISTIC, all or nothing."""

from __future__ import annotations

import pytest
from web3 import Web3

from hub.channels.models import ProposedUpdate
from hub.channels.reconciliation import reconcile_channels
from hub.core.rates import token_to_wei
from hub.custodial.models import CustodialWithdrawal
from hub.ledger.models import LedgerEntry
from hub.purchases.models import Payment, Purchase
from hub.purchases.services import optimistic_sweep
from tests.chain_env import ETH, TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import run_hub_transactions, set_rate
from tests.purchases.helpers import accept_hub_updates, collateralize, funded_user, pay_request

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def test_a_channel_payment_reaches_the_recipient_who_countersigns_it(hub_chain: ChainEnv) -> None:
    set_rate("100")
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    bob = funded_user(hub_chain, wei=ETH // 10)
    collateralize(hub_chain, bob)
    response = alice.post("payments/purchase", {"meta": {"orderId": "o-1"}, "payments": [
        pay_request(alice, bob.address, token=3 * TOKEN, ptype="PT_CHANNEL")]})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["purchaseId"].startswith("pur_") and len(body["purchaseId"]) == 36
    assert [u["update"]["reason"] for u in body["sync"]["updates"]] == ["Payment"]
    assert accept_hub_updates(hub_chain, bob) == ["Payment"]
    assert bob.latest.balance_token_user == 3 * TOKEN
    assert alice.latest.balance_token_user == 17 * TOKEN
    payment = Payment.objects.get()
    assert (payment.type, payment.status, payment.meta) == ("PT_CHANNEL", "completed", {"orderId": "o-1"})
    detail = alice.get(f"payments/purchase/{body['purchaseId']}").json()
    assert detail["amount"] == {"amountWei": "0", "amountToken": str(3 * TOKEN)}
    history = bob.get(f"payments/history/{bob.address}").json()
    assert [h["purchaseId"] for h in history] == [body["purchaseId"]]
    assert reconcile_channels().ok


def test_a_first_payment_without_collateral_fails_and_requests_exactly_one_top_up(hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    bob = funded_user(hub_chain, wei=ETH // 10)
    ledger_before = LedgerEntry.objects.count()
    for _ in range(3):
        saved = alice.state
        response = alice.post("payments/purchase", {"meta": {}, "payments": [
            pay_request(alice, bob.address, token=2 * TOKEN, ptype="PT_CHANNEL")]})
        alice.state = saved  # the hub refused: our state did not move
        assert response.status_code == 409
        assert response.json()["code"] == "insufficient_collateral"
    assert LedgerEntry.objects.count() == ledger_before
    assert Purchase.objects.count() == 0
    assert ProposedUpdate.objects.filter(channel__user=bob.address).count() == 1
    # bob's client countersigns the top-up; once it is confirmed the payment goes through
    reasons = bob.get(f"channel/{bob.address}/sync?lastChanTx={bob.latest.tx_count_global}").json()
    assert reasons["updates"][-1]["update"]["reason"] == "ProposePendingDeposit"
    from tests.hub.api.test_channel_flows import confirm_from_chain, now_of

    item = reasons["updates"][-1]
    request = bob.accept(item, now=now_of(hub_chain))
    request["txCount"] = bob.latest.tx_count_global
    assert bob.post(f"channel/{bob.address}/update", {"updates": [request]}).status_code == 200
    run_hub_transactions()
    confirm_from_chain(hub_chain, bob)
    response = alice.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(alice, bob.address, token=2 * TOKEN, ptype="PT_CHANNEL")]})
    assert response.status_code == 200, response.content
    payment = Payment.objects.get()
    assert (payment.status, payment.amount_token, payment.recipient) == ("completed", 2 * TOKEN, bob.address)
    assert accept_hub_updates(hub_chain, bob) == ["Payment"]  # the hub paid bob from the top-up
    assert bob.latest.balance_token_user == 2 * TOKEN
    assert reconcile_channels().ok


def test_a_purchase_is_all_or_nothing(hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=10 * TOKEN)
    carol = Web3.to_checksum_address("0x" + "c0" * 20).lower()
    bob = funded_user(hub_chain, wei=ETH // 10)  # no collateral
    saved = alice.state
    response = alice.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(alice, carol, token=TOKEN, ptype="PT_CUSTODIAL"),
        pay_request(alice, bob.address, token=TOKEN, ptype="PT_CHANNEL"),
    ]})
    alice.state = saved
    assert response.status_code == 409
    assert Payment.objects.count() == 0
    assert alice.get(f"custodial/{alice.address}/balance").status_code == 200
    assert LedgerEntry.objects.filter(account__startswith="custodial:").count() == 0


def test_custodial_payments_are_withdrawn_on_chain_as_eth_at_the_rate(hub_chain: ChainEnv) -> None:
    rate = set_rate("250")
    alice = funded_user(hub_chain, tokens=50 * TOKEN)
    merchant = hub_chain.new_user(eth=ETH // 100)
    from tests.hub.api.user_sim import UserSim

    shop = UserSim(merchant, hub_chain.deployment.channel_manager)
    shop.login()
    response = alice.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(alice, shop.address, token=20 * TOKEN, ptype="PT_CUSTODIAL"),
        pay_request(alice, shop.address, token=5 * TOKEN, ptype="PT_CUSTODIAL"),
    ]})
    assert response.status_code == 200, response.content
    balance = shop.get(f"custodial/{shop.address}/balance").json()
    assert balance["balanceToken"] == str(25 * TOKEN)
    assert balance["totalReceivedToken"] == str(25 * TOKEN)
    payout = hub_chain.new_user(eth=0).address
    too_small = shop.post("custodial/withdrawals", {"recipient": payout, "amountToken": "1000"})
    assert too_small.status_code == 400 and too_small.json()["code"] == "below_minimum"
    too_big = shop.post("custodial/withdrawals", {"recipient": payout, "amountToken": str(26 * TOKEN)})
    assert too_big.status_code == 400 and too_big.json()["code"] == "insufficient_balance"
    response = shop.post("custodial/withdrawals", {"recipient": payout, "amountToken": str(25 * TOKEN)})
    assert response.status_code == 200, response.content
    run_hub_transactions()
    expected = token_to_wei(25 * TOKEN, rate.rate)
    assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(payout)) == expected
    withdrawal = CustodialWithdrawal.objects.get()
    assert (withdrawal.state, withdrawal.sent_wei) == ("confirmed", expected)
    assert shop.get(f"custodial/{shop.address}/balance").json()["balanceToken"] == "0"
    listed = shop.get(f"custodial/{shop.address}/withdrawals").json()
    assert [w["state"] for w in listed] == ["confirmed"]


def test_a_merchants_receiving_address_key_cannot_withdraw_the_merchants_balance(hub_chain: ChainEnv) -> None:
    """Merchant balances leave only through settlements (payout address, roles, 2FA)."""
    from payments.merchants.services import merchant_create
    from tests.hub.api.user_sim import UserSim

    alice = funded_user(hub_chain, tokens=10 * TOKEN)
    receiving = UserSim(hub_chain.new_user(eth=ETH // 100), hub_chain.deployment.channel_manager)
    receiving.login()
    merchant_create(name="Shop", addresses=[receiving.address], payout_address=hub_chain.new_user(eth=0).address)
    response = alice.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(alice, receiving.address, token=4 * TOKEN, ptype="PT_CUSTODIAL")]})
    assert response.status_code == 200, response.content
    thief = hub_chain.new_user(eth=0).address
    refused = receiving.post("custodial/withdrawals", {"recipient": thief, "amountToken": str(4 * TOKEN),
                                                       "payoutAsset": "token"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "merchant_balance_settles_only"
    assert CustodialWithdrawal.objects.count() == 0
    assert receiving.get(f"custodial/{receiving.address}/balance").json()["balanceToken"] == str(4 * TOKEN)


def test_an_optimistic_payment_is_held_then_forwarded_when_collateral_arrives(hub_chain: ChainEnv) -> None:
    alice = funded_user(hub_chain, tokens=10 * TOKEN)
    bob = funded_user(hub_chain, wei=ETH // 10)
    response = alice.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(alice, bob.address, token=4 * TOKEN, ptype="PT_OPTIMISTIC")]})
    assert response.status_code == 200, response.content
    payment = Payment.objects.get()
    assert payment.status == "pending"
    assert optimistic_sweep() == (0, 0)
    collateralize(hub_chain, bob)
    assert optimistic_sweep() == (1, 0)
    assert optimistic_sweep() == (0, 0)
    assert accept_hub_updates(hub_chain, bob) == ["Payment"]
    assert bob.latest.balance_token_user == 4 * TOKEN
    payment.refresh_from_db()
    assert payment.status == "completed" and payment.disbursement is not None
    assert reconcile_channels().ok


def test_an_optimistic_payment_that_expires_returns_to_the_payer_once(hub_chain: ChainEnv, settings: object) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from hub.purchases.services import optimistic_refund

    alice = funded_user(hub_chain, tokens=10 * TOKEN)
    bob = funded_user(hub_chain, wei=ETH // 10)
    alice.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(alice, bob.address, token=4 * TOKEN, ptype="PT_OPTIMISTIC")]})
    payment = Payment.objects.get()
    later = timezone.now() + timedelta(hours=2)
    assert optimistic_refund(payment_id=payment.pk, now=later) is True
    assert optimistic_refund(payment_id=payment.pk, now=later) is False
    assert accept_hub_updates(hub_chain, alice) == ["Payment"]
    assert alice.latest.balance_token_user == 10 * TOKEN
    payment.refresh_from_db()
    assert payment.status == "refunded"
    held = LedgerEntry.objects.filter(account=f"optimistic:{payment.pk}")
    assert sorted(e.amount for e in held) == [-4 * TOKEN, 4 * TOKEN]  # held, then released once


def test_a_payment_asked_while_the_recipients_top_up_is_on_its_way_is_held_then_forwarded(
        hub_chain: ChainEnv, settings: object) -> None:
    """The hub's own top-up never makes a payer's request fail: a PT_CHANNEL payment that arrives
    while the hub's deposit into the recipient's channel is mined but not yet confirmed waits for
    the ConfirmPending and is forwarded (hub/channels/holds.py)."""
    from hub.collateral.services import collateral_request
    from tests.hub.api.test_channel_flows import call_while_held, now_of

    settings.COLLATERAL_HOLD_SECONDS = 120  # type: ignore[attr-defined]
    alice = funded_user(hub_chain, tokens=20 * TOKEN)
    bob = funded_user(hub_chain, wei=ETH // 10)
    assert collateral_request(user=bob.address) is not None
    item = bob.get(f"channel/{bob.address}/sync?lastChanTx={bob.latest.tx_count_global}").json()["updates"][-1]
    request = bob.accept(item, now=now_of(hub_chain))
    request["txCount"] = bob.latest.tx_count_global
    assert bob.post(f"channel/{bob.address}/update", {"updates": [request]}).status_code == 200
    run_hub_transactions()  # the top-up is mined; its event is not ingested yet
    assert bob.latest.pending_deposit_token_hub > 0

    response = call_while_held(lambda: alice.post("payments/purchase", {"meta": {}, "payments": [
        pay_request(alice, bob.address, token=2 * TOKEN, ptype="PT_CHANNEL")]}))
    assert response.status_code == 200, response.content
    payment = Payment.objects.get()
    assert (payment.status, payment.amount_token) == ("completed", 2 * TOKEN)
    assert accept_hub_updates(hub_chain, bob)[-2:] == ["ConfirmPending", "Payment"]
    assert bob.latest.balance_token_user == 2 * TOKEN
    assert reconcile_channels().ok
