"""Custodial balances without a chain: a credit's exact ledger postings, the balance row's every
field (credits of one base unit, debits, withdrawals in each state, another user's), a
withdrawal's row before the outbox gave it a transaction, and the registries the merchant
platform plugs in (withdrawal guards, custodial receivers), each entry registered once."""

from __future__ import annotations

import pytest
from django.db import transaction

from hub.channels.errors import ChannelError
from hub.custodial import services
from hub.custodial.models import CustodialWithdrawal
from hub.custodial.services import (
    MIN_WITHDRAWAL_WEI,
    custodial_balance,
    custodial_credit,
    custodial_debit,
    custodial_withdraw,
    guard_withdrawals,
    receive_custodially,
    receives_custodially,
    withdrawal_json,
)
from hub.ledger.accounts import CUSTODIAL_FLOAT
from hub.ledger.models import LedgerEntry
from tests.payments.conftest import credit_custodial, random_address

pytestmark = pytest.mark.django_db


def postings(memo: str) -> list[tuple[str, str, int]]:
    return sorted((e.account, e.asset, int(e.amount))
                  for e in LedgerEntry.objects.filter(memo=memo))


def test_a_credit_owes_the_recipient_each_asset_against_the_float_or_the_given_account() -> None:
    user = random_address()
    custodial_credit(recipient=user.upper().replace("0X", "0x"), amount_wei=5, amount_token=7,
                     memo="credit one")
    assert postings("credit one") == sorted([
        (f"custodial:{user}", "wei", 5), (CUSTODIAL_FLOAT, "wei", -5),
        (f"custodial:{user}", "token", 7), (CUSTODIAL_FLOAT, "token", -7)])
    custodial_credit(recipient=user, amount_wei=0, amount_token=3, memo="credit two",
                     counter_account="test:checkout")
    assert postings("credit two") == sorted([
        (f"custodial:{user}", "token", 3), ("test:checkout", "token", -3)])


def test_the_balance_row_counts_every_credit_debit_and_unfailed_withdrawal_of_its_user() -> None:
    user, other = random_address(), random_address()
    fresh = custodial_balance(random_address())
    assert {k: v for k, v in fresh.items() if k != "user"} == {
        "totalReceivedWei": "0", "totalReceivedToken": "0", "totalWithdrawnWei": "0",
        "totalWithdrawnToken": "0", "balanceWei": "0", "balanceToken": "0", "sentWei": "0"}
    custodial_credit(recipient=user, amount_wei=1, amount_token=1, memo="one unit")
    credit_custodial(user, "wei", 5)
    credit_custodial(user, "token", 10)
    credit_custodial(other, "wei", 1000)
    custodial_debit(owner=user, amount_wei=2, amount_token=3, memo="debit")
    for who, state, sent in [(user, "pending", 100), (user, "confirmed", 20), (user, "failed", 7),
                             (other, "pending", 1000)]:
        CustodialWithdrawal.objects.create(user=who, recipient=random_address(), state=state,
                                           requested_wei=sent, sent_wei=sent)
    assert custodial_balance(user) == {
        "user": user, "totalReceivedWei": "6", "totalReceivedToken": "11",
        "totalWithdrawnWei": "2", "totalWithdrawnToken": "3",
        "balanceWei": "4", "balanceToken": "8", "sentWei": "120"}


def test_a_withdrawal_without_its_transaction_yet_shows_none() -> None:
    row = CustodialWithdrawal.objects.create(user=random_address(), recipient=random_address(),
                                             requested_wei=MIN_WITHDRAWAL_WEI)
    shown = withdrawal_json(row)
    assert shown["onchainTransactionId"] is None and shown["state"] == "pending"


def test_a_registered_guard_refuses_withdrawals_from_its_addresses_once_registered() -> None:
    user = random_address()
    credit_custodial(user, "wei", 10 * MIN_WITHDRAWAL_WEI)
    calls: list[str] = []

    def guard(address: str) -> None:
        calls.append(address)
        if address == user:
            raise ChannelError("guarded", "this address is paid out elsewhere", status=403)

    try:
        guard_withdrawals(guard)
        guard_withdrawals(guard)
        assert services._withdrawal_guards.count(guard) == 1
        with pytest.raises(ChannelError) as refused, transaction.atomic():
            custodial_withdraw(user=user, recipient=random_address(),
                               amount_wei=str(MIN_WITHDRAWAL_WEI))
        assert refused.value.code == "guarded" and calls == [user]
        assert not CustodialWithdrawal.objects.filter(user=user).exists()
    finally:
        services._withdrawal_guards.remove(guard)


def test_a_registered_receiver_predicate_decides_who_receives_custodially() -> None:
    target = random_address()
    asked: list[str] = []

    def predicate(address: str) -> bool:
        asked.append(address)
        return address == target

    assert not receives_custodially(target)
    try:
        receive_custodially(predicate)
        receive_custodially(predicate)
        assert services._custodial_recipients.count(predicate) == 1
        assert receives_custodially(target) is True
        assert receives_custodially(random_address()) is False
        assert asked[0] == target
    finally:
        services._custodial_recipients.remove(predicate)
