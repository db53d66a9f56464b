"""Settlements on a real anvil: the payout address receives exactly the amount; a failed payout
returns the amount to the custodial ledger account exactly once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from web3 import Web3

from hub.chain import outbox
from hub.chain.artifacts import load_abi
from hub.chain.deploy import mint_tokens
from hub.chain.models import ChainTransaction
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from payments import conf
from payments.errors import PaymentsError
from payments.events.models import Event
from payments.mail.models import OutgoingEmail
from payments.merchants.models import Membership, Merchant
from payments.merchants.services import receiving_address_add
from payments.settlements.models import Settlement
from payments.settlements.services import (
    _settle_if_due,
    erc20_transfer_data,
    settlement_execute,
    settlement_on_payout_complete,
    settlements_mark_submitted,
    settlements_run_automatic,
)
from tests.chain_env import ChainEnv, submit_and_confirm
from tests.payments.conftest import Shop, credit_custodial, random_address

pytestmark = [pytest.mark.chain]


def run_outbox(settlement_id: str) -> Settlement:
    """Submit the settlement's payout and record its outcome once the node shows it mined. (On
    this shared machine 300 of 1000 receipts were missing right after the send, visible 2.5 ms
    later (median), 87 ms at worst: see submit_and_confirm.)"""
    settlement = Settlement.objects.get(public_id=settlement_id)
    tx_id = settlement.chain_transaction_id
    assert tx_id is not None
    submit_and_confirm(tx_id)
    return Settlement.objects.get(public_id=settlement_id)


def token_balance(w3: Web3, holder: str) -> int:
    token = w3.eth.contract(address=Web3.to_checksum_address(settings.TOKEN_ADDRESS), abi=load_abi("SpokeTestToken"))
    return int(token.functions.balanceOf(Web3.to_checksum_address(holder)).call())


@pytest.fixture
def payout_shop(make_shop, hub_chain: ChainEnv) -> Shop:  # type: ignore[no-untyped-def]
    return make_shop("payout shop", payout_address=random_address())


def test_an_eth_settlement_pays_exactly_the_amount_on_chain(payout_shop: Shop, hub_chain: ChainEnv) -> None:
    shop, w3 = payout_shop, hub_chain.w3
    credit_custodial(shop.address, "wei", 123_456_789)
    before = w3.eth.get_balance(Web3.to_checksum_address(shop.merchant.payout_address))
    response = shop.client().post("/api/v1/settlements", {"asset": "wei"}, idempotency_key="settle-1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and body["amount"] == "123456789"
    assert account_balance(f"custodial:{shop.address}", "wei") == 0
    assert shop.client().get("/api/v1/balance").json()["pending_settlement"][0] == {
        "amount": "123456789", "asset": "wei"}

    settlement = run_outbox(body["id"])
    assert settlement.state == Settlement.State.PAID
    after = w3.eth.get_balance(Web3.to_checksum_address(shop.merchant.payout_address))
    assert after - before == 123_456_789
    shown = shop.client().get(f"/api/v1/settlements/{body['id']}").json()
    tx = shown["transaction"]
    assert shown["status"] == "paid" and tx["state"] == "confirmed" and tx["receipt_status"] == 1
    assert tx["tx_hash"] in tx["attempt_hashes"] and tx["block_number"] is not None
    assert account_balance(f"settlement:{body['id']}", "wei") == 0
    types = [e["type"] for e in shop.client().get("/api/v1/events").json()["data"]]
    assert types[:2] == ["settlement.paid", "settlement.created"]


def test_a_token_settlement_transfers_exactly_the_amount(payout_shop: Shop, hub_chain: ChainEnv) -> None:
    shop = payout_shop
    mint_tokens(hub_chain.w3, hub_chain.hub, settings.TOKEN_ADDRESS, hub_chain.hub.address, 10**18)
    credit_custodial(shop.address, "token", 5 * 10**17)
    response = shop.client().post("/api/v1/settlements", {"asset": "token", "amount": str(2 * 10**17)})
    assert response.status_code == 201, response.content
    settlement = run_outbox(response.json()["id"])
    assert settlement.state == Settlement.State.PAID
    assert token_balance(hub_chain.w3, shop.merchant.payout_address) == 2 * 10**17
    assert account_balance(f"custodial:{shop.address}", "token") == 3 * 10**17


def test_a_failed_payout_returns_the_amount_to_custodial_exactly_once(payout_shop: Shop, hub_chain: ChainEnv) -> None:
    shop = payout_shop
    hub_tokens = token_balance(hub_chain.w3, hub_chain.hub.address)
    amount = hub_tokens + 10**18  # more than the hub holds: the transfer reverts
    credit_custodial(shop.address, "token", amount)
    response = shop.client().post("/api/v1/settlements", {"asset": "token"})
    assert response.status_code == 201, response.content
    assert account_balance(f"custodial:{shop.address}", "token") == 0
    settlement = run_outbox(response.json()["id"])
    assert settlement.state == Settlement.State.FAILED and settlement.failure_reason
    assert account_balance(f"custodial:{shop.address}", "token") == amount
    # the outcome arriving again changes nothing
    tx = ChainTransaction.objects.get(pk=settlement.chain_transaction_id)
    settlement_on_payout_complete(tx)
    outbox.transaction_check(tx_id=tx.pk)
    assert account_balance(f"custodial:{shop.address}", "token") == amount
    assert account_balance(f"settlement:{settlement.public_id}", "token") == 0
    shown = shop.client().get(f"/api/v1/settlements/{settlement.public_id}").json()
    assert shown["status"] == "failed" and shown["transaction"]["state"] == "failed"


def test_settling_more_than_the_balance_is_refused(payout_shop: Shop) -> None:
    credit_custodial(payout_shop.address, "wei", 10)
    response = payout_shop.client().post("/api/v1/settlements", {"asset": "wei", "amount": "11"})
    assert response.status_code == 409 and response.json()["error"]["code"] == "balance_insufficient"
    assert Settlement.objects.count() == 0


def test_automatic_settlement_starts_at_the_threshold(payout_shop: Shop) -> None:
    merchant = payout_shop.merchant
    merchant.settlement_threshold_wei = 1000
    merchant.save()
    credit_custodial(payout_shop.address, "wei", 999)
    assert settlements_run_automatic() == []
    credit_custodial(payout_shop.address, "wei", 1)
    created = settlements_run_automatic()
    assert [(s.amount, s.asset, s.automatic) for s in created] == [(1000, "wei", True)]
    assert settlements_run_automatic() == []


def test_a_token_threshold_alone_settles_the_token_balance(payout_shop: Shop) -> None:
    """No wei threshold and no schedule: the token threshold alone makes the merchant due, and the
    wei balance of 0 (skipped) does not stop the token settlement after it."""
    Merchant.objects.filter(pk=payout_shop.merchant.pk).update(settlement_threshold_token=1000)
    credit_custodial(payout_shop.address, "token", 1000)
    created = settlements_run_automatic()
    assert [(int(s.amount), s.asset, s.automatic) for s in created] == [(1000, "token", True)]
    assert account_balance(f"custodial:{payout_shop.address}", "token") == 0


def test_a_schedule_is_due_exactly_one_period_after_the_last_scheduled_settlement(payout_shop: Shop) -> None:
    last = timezone.now() - timedelta(days=3)
    Merchant.objects.filter(pk=payout_shop.merchant.pk).update(
        settlement_schedule=Merchant.SettlementSchedule.DAILY, last_scheduled_settlement_at=last)
    credit_custodial(payout_shop.address, "wei", 1)  # the smallest balance is settled on schedule
    assert settlements_run_automatic(now=last + timedelta(days=1, microseconds=-1)) == []
    created = settlements_run_automatic(now=last + timedelta(days=1))
    assert [(int(s.amount), s.asset) for s in created] == [(1, "wei")]
    payout_shop.merchant.refresh_from_db()
    assert payout_shop.merchant.last_scheduled_settlement_at == last + timedelta(days=1)


def test_a_merchant_whose_addresses_net_to_zero_is_not_settled(payout_shop: Shop) -> None:
    second = random_address()
    receiving_address_add(merchant_id=payout_shop.merchant.pk, address=second)
    Merchant.objects.filter(pk=payout_shop.merchant.pk).update(
        settlement_schedule=Merchant.SettlementSchedule.DAILY)
    credit_custodial(payout_shop.address, "wei", 5)
    credit_custodial(second, "wei", -5)
    assert settlements_run_automatic() == []
    assert Settlement.objects.count() == 0
    assert account_balance(f"custodial:{payout_shop.address}", "wei") == 5


def test_the_due_check_under_the_merchant_lock_skips_a_merchant_gone_or_without_payout_address(
        make_shop, hub_chain: ChainEnv) -> None:  # type: ignore[no-untyped-def]
    """What a run listed can change before it takes the merchant's lock: the merchant is deleted,
    or its payout address removed. The check under the lock then settles nothing and does not
    count the schedule as run."""
    shop = make_shop("no payout yet")
    Merchant.objects.filter(pk=shop.merchant.pk).update(settlement_schedule=Merchant.SettlementSchedule.DAILY)
    credit_custodial(shop.address, "wei", 100)
    now = timezone.now()
    assert _settle_if_due(shop.merchant.pk, now) == []
    assert _settle_if_due(Merchant.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1, now) == []
    shop.merchant.refresh_from_db()
    assert shop.merchant.last_scheduled_settlement_at is None
    assert Settlement.objects.count() == 0


def test_only_settlements_whose_transaction_was_broadcast_are_marked_submitted(payout_shop: Shop) -> None:
    credit_custodial(payout_shop.address, "wei", 100)
    first = settlement_execute(merchant_id=payout_shop.merchant.pk, asset="wei", amount=40)
    second = settlement_execute(merchant_id=payout_shop.merchant.pk, asset="wei", amount=60)
    assert settlements_mark_submitted() == 0  # nothing broadcast yet
    assert first.chain_transaction_id is not None
    outbox.transaction_submit(tx_id=first.chain_transaction_id)
    assert ChainTransaction.objects.get(pk=first.chain_transaction_id).state == ChainTransaction.State.SUBMITTED
    before = Settlement.objects.get(pk=first.pk).updated_at

    assert settlements_mark_submitted() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (Settlement.State.SUBMITTED, Settlement.State.PENDING)
    assert first.updated_at > before
    assert settlements_mark_submitted() == 0  # already marked


# --- what a settlement records: the debits, the ledger postings, the payout queued, the event,
# the outcome and the owners' notice (service level, no anvil round trip) ---

def postings(settlement: Settlement, memo: str) -> list[tuple[str, str, int]]:
    """The ledger entries of the settlement's posting with this memo, as (account, asset, amount)."""
    rows = LedgerEntry.objects.filter(memo=memo).values_list("posting", "account", "asset", "amount")
    assert len({posting for posting, *_ in rows}) == 1, f"one posting with memo {memo!r}: {list(rows)}"
    return sorted((account, asset, int(amount)) for _posting, account, asset, amount in rows)


def owner(shop: Shop, email: str) -> None:
    user = get_user_model().objects.create_user(username=email, email=email)  # no password to hash
    Membership.objects.create(user=user, merchant=shop.merchant, role=Membership.Role.OWNER)


def record_outcome(settlement: Settlement, state: str, failure_reason: str = "") -> Settlement:
    """What the outbox does when the payout's outcome is known: record it on the transaction and
    run the callback in the same database transaction."""
    with transaction.atomic():
        tx = ChainTransaction.objects.select_for_update().get(pk=settlement.chain_transaction_id)
        tx.state, tx.failure_reason = state, failure_reason
        tx.save(update_fields=["state", "failure_reason"])
        settlement_on_payout_complete(tx)
    return Settlement.objects.select_related("chain_transaction").get(pk=settlement.pk)


def event_of(settlement: Settlement, type_: str) -> Event:
    [event] = Event.objects.filter(type=type_, data__object__id=settlement.public_id)
    return event


def test_a_settlement_takes_the_amount_from_several_custodial_balances_in_order(payout_shop: Shop) -> None:
    """Oldest address first, a negative balance skipped, the last one debited only in part; a
    failed payout gives each address back exactly what was taken from it."""
    shop = payout_shop
    owner(shop, "owner@payout.example")
    first, second, third = shop.address, random_address(), random_address()
    for address in (second, third):
        receiving_address_add(merchant_id=shop.merchant.pk, address=address)
    credit_custodial(first, "wei", -3)
    credit_custodial(second, "wei", 20)
    credit_custodial(third, "wei", 50)

    settlement = settlement_execute(merchant_id=shop.merchant.pk, asset="wei", amount=60)
    settlement.refresh_from_db()
    assert (int(settlement.amount), settlement.asset, settlement.state, settlement.automatic) == (
        60, "wei", Settlement.State.PENDING, False)
    assert settlement.payout_address == shop.merchant.payout_address
    assert settlement.debits == {second: "20", third: "40"}
    assert settlement.fiat_currency == "USD" and settlement.fiat_value is None  # no ETH rate known
    assert [account_balance(f"custodial:{a}", "wei") for a in (first, second, third)] == [-3, 0, 10]
    assert postings(settlement, f"settlement {settlement.public_id}") == sorted([
        (f"custodial:{second}", "wei", -20), (f"custodial:{third}", "wei", -40),
        (f"settlement:{settlement.public_id}", "wei", 60)])
    tx = ChainTransaction.objects.get(pk=settlement.chain_transaction_id)
    assert (tx.purpose, tx.to, int(tx.value), tx.data, tx.state) == (
        "settlement", shop.merchant.payout_address, 60, "0x", ChainTransaction.State.NEW)
    created = event_of(settlement, "settlement.created")
    assert created.merchant_id == shop.merchant.pk
    assert (created.data["object"]["amount"], created.data["object"]["payout_address"],
            created.data["object"]["status"]) == ("60", shop.merchant.payout_address, "pending")

    failed = record_outcome(settlement, ChainTransaction.State.FAILED)
    assert failed.state == Settlement.State.FAILED and failed.completed_at is not None
    assert failed.failure_reason == "the payout transaction failed"  # the transaction gave no reason
    assert [account_balance(f"custodial:{a}", "wei") for a in (first, second, third)] == [-3, 20, 50]
    assert account_balance(f"settlement:{settlement.public_id}", "wei") == 0
    assert postings(settlement, f"settlement {settlement.public_id} failed: returned") == sorted([
        (f"custodial:{second}", "wei", 20), (f"custodial:{third}", "wei", 40),
        (f"settlement:{settlement.public_id}", "wei", -60)])
    event = event_of(settlement, "settlement.failed")
    assert event.merchant_id == shop.merchant.pk
    assert event.idempotency_key == f"settlement.failed:{settlement.public_id}"
    shown = event.data["object"]
    assert (shown["status"], shown["failure_reason"], shown["transaction"]["state"]) == (
        "failed", "the payout transaction failed", "failed")
    assert shown["completed_at"] is not None
    [mail] = OutgoingEmail.objects.filter(key=f"settlement:{settlement.public_id}:failed")
    assert (mail.merchant_id, mail.to) == (shop.merchant.pk, ["owner@payout.example"])
    assert mail.subject == f"payout shop: settlement {settlement.public_id} failed"
    assert f"Settlement {settlement.public_id} of " in mail.body
    assert f" to {shop.merchant.payout_address} is failed." in mail.body


def test_a_paid_token_settlement_records_its_fiat_value_transfer_and_outcome(
        payout_shop: Shop, monkeypatch: pytest.MonkeyPatch) -> None:
    """Valued in the books' currency at the token's peg; the payout is a transfer call on the
    token contract; paid, the amount moves on to the on-chain payouts account."""
    shop = payout_shop
    owner(shop, "owner@payout.example")
    monkeypatch.setattr(conf, "FIAT_BOOKS_CURRENCY", "EUR")
    monkeypatch.setitem(conf.FIAT_PER_USD, "EUR", "0.5")
    credit_custodial(shop.address, "token", 5 * 10**17)

    settlement = settlement_execute(merchant_id=shop.merchant.pk, asset="token", amount=3 * 10**17)
    settlement.refresh_from_db()
    assert settlement.automatic is False and settlement.debits == {shop.address: str(3 * 10**17)}
    assert (settlement.fiat_currency, settlement.fiat_value, settlement.fiat_rate) == (
        "EUR", Decimal("0.15"), Decimal("0.5"))
    assert settlement.fiat_rate_source.startswith("peg") and settlement.fiat_rate_at is not None
    tx = ChainTransaction.objects.get(pk=settlement.chain_transaction_id)
    assert (tx.purpose, tx.to, int(tx.value)) == ("settlement", str(settings.TOKEN_ADDRESS).lower(), 0)
    assert tx.data == "0x" + erc20_transfer_data(shop.merchant.payout_address, 3 * 10**17).hex()

    paid = record_outcome(settlement, ChainTransaction.State.CONFIRMED)
    assert (paid.state, paid.failure_reason) == (Settlement.State.PAID, "")
    assert paid.completed_at is not None and paid.chain_transaction_id == tx.pk
    assert postings(settlement, f"settlement {settlement.public_id} paid") == sorted([
        (f"settlement:{settlement.public_id}", "token", -3 * 10**17), ("payouts:onchain", "token", 3 * 10**17)])
    assert account_balance(f"custodial:{shop.address}", "token") == 2 * 10**17
    event = event_of(settlement, "settlement.paid")
    assert (event.merchant_id, event.idempotency_key) == (shop.merchant.pk, f"settlement.paid:{settlement.public_id}")
    assert (event.data["object"]["status"], event.data["object"]["transaction"]["state"]) == ("paid", "confirmed")
    [mail] = OutgoingEmail.objects.filter(key=f"settlement:{settlement.public_id}:paid")
    assert (mail.merchant_id, mail.to) == (shop.merchant.pk, ["owner@payout.example"])
    assert mail.subject == f"payout shop: settlement {settlement.public_id} paid"
    assert f" to {shop.merchant.payout_address} is paid." in mail.body


def test_a_failed_payout_keeps_the_first_2000_characters_of_the_reason(payout_shop: Shop) -> None:
    credit_custodial(payout_shop.address, "wei", 7)
    settlement = settlement_execute(merchant_id=payout_shop.merchant.pk, asset="wei")
    failed = record_outcome(settlement, ChainTransaction.State.FAILED, "r" * 1999 + "st" + "x" * 100)
    assert failed.failure_reason == "r" * 1999 + "s"
    assert account_balance(f"custodial:{payout_shop.address}", "wei") == 7


def refusal(**kwargs: Any) -> tuple[str, str | None]:
    with pytest.raises(PaymentsError) as caught:
        settlement_execute(**kwargs)
    return caught.value.code, caught.value.param


def test_refused_settlements_name_the_code_and_the_parameter(
        payout_shop: Shop, make_shop: Callable[..., Shop], settings: Any) -> None:
    merchant_id = payout_shop.merchant.pk
    credit_custodial(payout_shop.address, "wei", 100)
    assert refusal(merchant_id=merchant_id, asset="eth") == ("parameter_invalid", "asset")
    for amount in (0, -5, True, "5", 1.0):
        assert refusal(merchant_id=merchant_id, asset="wei", amount=amount) == ("amount_invalid", "amount"), amount
    with pytest.raises(PaymentsError) as caught:
        settlement_execute(merchant_id=merchant_id, asset="wei", amount=101)
    assert (caught.value.code, caught.value.param) == ("balance_insufficient", "amount")
    assert "100 wei" in caught.value.message  # what can be settled
    assert refusal(merchant_id=merchant_id, asset="token") == ("balance_insufficient", None)  # nothing to settle
    no_payout = make_shop("no payout address")
    credit_custodial(no_payout.address, "wei", 100)
    assert refusal(merchant_id=no_payout.merchant.pk, asset="wei") == ("payout_address_missing", None)
    assert Settlement.objects.count() == 0
    assert account_balance(f"custodial:{payout_shop.address}", "wei") == 100

    settings.TOKEN_ADDRESS = ""
    credit_custodial(payout_shop.address, "token", 100)
    assert refusal(merchant_id=merchant_id, asset="token") == ("asset_not_configured", "asset")
    assert int(settlement_execute(merchant_id=merchant_id, asset="wei").amount) == 100  # ETH still settles
