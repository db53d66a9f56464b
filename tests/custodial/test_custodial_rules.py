"""Custodial withdrawals: every refusal with its code and nothing written, the minimums at their
edges, token balances paid as tokens or as ETH at the hub's rate, and the balance row."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction
from web3 import Web3

from hub.chain.models import ChainTransaction
from hub.channels.errors import ChannelError
from hub.core import UpdateRejected
from hub.core.rates import token_to_wei
from hub.custodial.models import CustodialWithdrawal
from hub.custodial.services import (
    MIN_WITHDRAWAL_TOKEN,
    MIN_WITHDRAWAL_WEI,
    PAYOUTS,
    custodial_account,
    custodial_balance,
    custodial_withdraw,
    withdrawal_json,
)
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from ops.models import GlobalSwitches
from tests.chain_env import TOKEN, ChainEnv
from tests.hub.api.test_channel_flows import run_hub_transactions, set_rate
from tests.payments.conftest import credit_custodial, random_address

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]


def withdraw(user: str, **arguments: Any) -> CustodialWithdrawal:
    with transaction.atomic():
        return custodial_withdraw(user=user, recipient=arguments.pop("recipient", random_address()),
                                  **arguments)


def token_balance(env: ChainEnv, address: str) -> int:
    token = env.w3.eth.contract(address=Web3.to_checksum_address(env.deployment.token), abi=[
        {"name": "balanceOf", "type": "function", "stateMutability": "view",
         "inputs": [{"name": "a", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]}])
    return int(token.functions.balanceOf(Web3.to_checksum_address(address)).call())


def test_each_refused_withdrawal_has_its_code_and_writes_nothing(hub_chain: ChainEnv) -> None:
    user = random_address()
    credit_custodial(user, "wei", 10 * MIN_WITHDRAWAL_WEI)
    credit_custodial(user, "token", 10 * MIN_WITHDRAWAL_TOKEN)
    entries = LedgerEntry.objects.count()
    refusals = [
        ({"amount_wei": str(MIN_WITHDRAWAL_WEI), "payout_asset": "btc"}, UpdateRejected, "bad_args"),
        ({"amount_wei": "0", "amount_token": "0"}, UpdateRejected, "bad_args"),
        ({}, UpdateRejected, "bad_args"),
        ({"amount_wei": str(MIN_WITHDRAWAL_WEI - 1)}, ChannelError, "below_minimum"),
        ({"amount_token": str(MIN_WITHDRAWAL_TOKEN - 1)}, ChannelError, "below_minimum"),
        ({"amount_token": str(MIN_WITHDRAWAL_TOKEN), "amount_wei": "1"}, ChannelError, "below_minimum"),
        ({"amount_wei": str(10 * MIN_WITHDRAWAL_WEI + 1)}, UpdateRejected, "insufficient_balance"),
        ({"amount_token": str(10 * MIN_WITHDRAWAL_TOKEN + 1), "payout_asset": "token"},
         UpdateRejected, "insufficient_balance"),
        # a token balance paid as ETH needs a rate (none was set)
        ({"amount_token": str(MIN_WITHDRAWAL_TOKEN)}, UpdateRejected, "rate_unavailable"),
        ({"amount_wei": str(MIN_WITHDRAWAL_WEI), "recipient": "0x1234"}, UpdateRejected, "bad_args"),
    ]
    for arguments, kind, code in refusals:
        with pytest.raises(kind) as refused:
            withdraw(user, **arguments)
        assert refused.value.code == code, arguments
    GlobalSwitches.objects.update_or_create(pk=GlobalSwitches.current().pk,
                                            defaults={"withdrawals_enabled": False})
    with pytest.raises(ChannelError) as off:
        withdraw(user, amount_wei=str(MIN_WITHDRAWAL_WEI))
    assert (off.value.code, off.value.status) == ("withdrawals_disabled", 503)
    assert LedgerEntry.objects.count() == entries
    assert CustodialWithdrawal.objects.count() == 0 and ChainTransaction.objects.count() == 0


def test_the_minimums_themselves_are_withdrawn(hub_chain: ChainEnv) -> None:
    user, payout = random_address(), random_address()
    credit_custodial(user, "wei", MIN_WITHDRAWAL_WEI)
    credit_custodial(user, "token", MIN_WITHDRAWAL_TOKEN)
    withdraw(user, recipient=payout, amount_wei=str(MIN_WITHDRAWAL_WEI))
    withdraw(user, recipient=payout, amount_token=str(MIN_WITHDRAWAL_TOKEN), payout_asset="token")
    run_hub_transactions()
    assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(payout)) == MIN_WITHDRAWAL_WEI
    assert token_balance(hub_chain, payout) == MIN_WITHDRAWAL_TOKEN
    assert account_balance(custodial_account(user), "wei") == 0
    assert account_balance(custodial_account(user), "token") == 0


def test_a_token_balance_is_paid_as_tokens_or_as_eth_at_the_rate(hub_chain: ChainEnv) -> None:
    rate = set_rate("250")
    user, as_tokens, as_eth = random_address(), random_address(), random_address()
    credit_custodial(user, "token", 7 * TOKEN)
    credit_custodial(user, "wei", 10**16)
    by_token = withdraw(user, recipient=as_tokens, amount_token=str(3 * TOKEN), payout_asset="token")
    assert (by_token.sent_token, by_token.sent_wei, by_token.exchange_rate) == (3 * TOKEN, 0, "")
    by_eth = withdraw(user, recipient=as_eth, amount_token=str(4 * TOKEN), amount_wei=str(10**16))
    expected_wei = 10**16 + token_to_wei(4 * TOKEN, rate.rate)
    assert (by_eth.sent_token, by_eth.sent_wei, by_eth.exchange_rate) == (0, expected_wei, rate.rate)
    assert (by_eth.requested_token, by_eth.requested_wei) == (4 * TOKEN, 10**16)
    assert account_balance(PAYOUTS, "token") == 7 * TOKEN and account_balance(PAYOUTS, "wei") == 10**16
    run_hub_transactions()
    assert token_balance(hub_chain, as_tokens) == 3 * TOKEN
    assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(as_tokens)) == 0
    assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(as_eth)) == expected_wei
    assert token_balance(hub_chain, as_eth) == 0
    for withdrawal in (by_token, by_eth):
        withdrawal.refresh_from_db()
        assert (withdrawal.chain_transaction.purpose, withdrawal.chain_transaction.value) == (
            "custodial_withdrawal", withdrawal.sent_wei)
        assert withdrawal.state == CustodialWithdrawal.State.CONFIRMED and withdrawal.completed_at
    shown = withdrawal_json(by_eth)
    assert shown == {
        "id": by_eth.pk, "user": user, "recipient": as_eth, "requestedToken": str(4 * TOKEN),
        "requestedWei": str(10**16), "payoutAsset": "eth", "exchangeRate": rate.rate,
        "sentWei": str(expected_wei), "sentToken": "0", "state": "confirmed",
        "onchainTransactionId": by_eth.chain_transaction_id,
        "createdOn": by_eth.created_at.isoformat(),
    }
    row = custodial_balance(user.upper().replace("0X", "0x"))
    assert row == {
        "user": user, "totalReceivedWei": str(10**16), "totalReceivedToken": str(7 * TOKEN),
        "totalWithdrawnWei": str(10**16), "totalWithdrawnToken": str(7 * TOKEN),
        "balanceWei": "0", "balanceToken": "0", "sentWei": str(expected_wei),
    }


def test_a_refusal_names_the_field_and_an_omitted_amount_is_zero(hub_chain: ChainEnv) -> None:
    set_rate("250")
    user = random_address()
    credit_custodial(user, "wei", 10 * MIN_WITHDRAWAL_WEI)
    credit_custodial(user, "token", 10 * MIN_WITHDRAWAL_TOKEN)
    named = [
        ({"amount_token": "1.5"}, "amountToken is not a non-negative integer: '1.5'"),
        ({"amount_wei": "-1"}, "amountWei is not a non-negative integer: '-1'"),
        ({"amount_wei": str(MIN_WITHDRAWAL_WEI), "recipient": "0x1234"}, "recipient"),
    ]
    for arguments, start in named:
        with pytest.raises(UpdateRejected) as refused:
            withdraw(user, **arguments)
        assert (refused.value.code, refused.value.message.startswith(start)) == ("bad_args", True), \
            refused.value.message
    with pytest.raises(UpdateRejected) as refused, transaction.atomic():
        custodial_withdraw(user="nobody", recipient=random_address(), amount_wei=str(MIN_WITHDRAWAL_WEI))
    assert refused.value.code == "bad_args" and refused.value.message.startswith("user"), refused.value.message
    # one base unit is above zero and below the minimum
    with pytest.raises(ChannelError) as small:
        withdraw(user, amount_token="1")
    assert small.value.code == "below_minimum"
    # an amount given as None (a JSON null, a missing field) is zero, not a refusal
    by_wei = withdraw(user, amount_wei=str(MIN_WITHDRAWAL_WEI), amount_token=None)
    by_token = withdraw(user, amount_token=str(MIN_WITHDRAWAL_TOKEN), amount_wei=None, payout_asset="token")
    by_wei.refresh_from_db()
    by_token.refresh_from_db()
    assert (by_wei.requested_wei, by_wei.requested_token, by_wei.payout_asset) == (MIN_WITHDRAWAL_WEI, 0, "eth")
    assert (by_token.requested_wei, by_token.requested_token, by_token.payout_asset) == (
        0, MIN_WITHDRAWAL_TOKEN, "token")
    assert by_token.chain_transaction_id is not None and by_wei.chain_transaction_id is not None
    # each debit is posted against the payouts account under the withdrawal's memo
    memos = set(LedgerEntry.objects.filter(account=custodial_account(user), amount__lt=0)
                .values_list("memo", flat=True))
    assert memos == {f"custodial withdrawal {by_wei.pk}", f"custodial withdrawal {by_token.pk}"}


def test_a_failed_payout_posts_the_return_under_its_own_memo_and_a_confirmed_one_posts_nothing(
        hub_chain: ChainEnv) -> None:
    """The completion callback: a failed payout gives back exactly what was requested, in each
    asset, from the payouts account, in one posting named after the withdrawal; a confirmed one
    only records its state. Either is recorded once, however often it is delivered."""
    from hub.custodial.services import custodial_withdrawal_completed

    user = random_address()
    credit_custodial(user, "wei", 4 * MIN_WITHDRAWAL_WEI)
    credit_custodial(user, "token", MIN_WITHDRAWAL_TOKEN)
    failed = withdraw(user, amount_wei=str(3 * MIN_WITHDRAWAL_WEI), amount_token=str(MIN_WITHDRAWAL_TOKEN),
                      payout_asset="token")
    paid = withdraw(user, amount_wei=str(MIN_WITHDRAWAL_WEI))
    before = LedgerEntry.objects.count()
    for withdrawal, outcome in ((failed, ChainTransaction.State.FAILED), (paid, ChainTransaction.State.CONFIRMED)):
        tx = withdrawal.chain_transaction
        tx.state = outcome
        with transaction.atomic():
            custodial_withdrawal_completed(tx)
            custodial_withdrawal_completed(tx)
    returned = sorted((e.account, e.asset, int(e.amount)) for e in LedgerEntry.objects.filter(
        memo=f"custodial withdrawal {failed.pk} failed: returned"))
    assert returned == sorted([
        (custodial_account(user), "wei", 3 * MIN_WITHDRAWAL_WEI), (PAYOUTS, "wei", -3 * MIN_WITHDRAWAL_WEI),
        (custodial_account(user), "token", MIN_WITHDRAWAL_TOKEN), (PAYOUTS, "token", -MIN_WITHDRAWAL_TOKEN)])
    assert LedgerEntry.objects.count() == before + 4
    failed.refresh_from_db()
    paid.refresh_from_db()
    assert (failed.state, paid.state) == ("failed", "confirmed")
    assert failed.completed_at and paid.completed_at
    assert account_balance(custodial_account(user), "wei") == 3 * MIN_WITHDRAWAL_WEI
    assert account_balance(custodial_account(user), "token") == MIN_WITHDRAWAL_TOKEN
