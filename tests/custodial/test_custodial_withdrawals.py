"""Custodial withdrawals on a real anvil and database: two withdrawals of the whole balance at
once pay out once; a payout the recipient refuses (a contract that reverts on receiving ETH)
gives the balance back exactly once; a balance is never withdrawn below zero."""

from __future__ import annotations

from functools import partial

import pytest
from django.db import transaction
from web3 import Web3

from hub.chain import outbox
from hub.chain.deploy import deploy_contract
from hub.chain.models import ChainTransaction
from hub.core import UpdateRejected
from hub.custodial.models import CustodialWithdrawal
from hub.custodial.services import (
    PAYOUTS,
    custodial_account,
    custodial_withdraw,
    custodial_withdrawal_completed,
)
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance
from tests.chain_env import ChainEnv
from tests.hub.api.test_channel_flows import run_hub_transactions
from tests.payments.conftest import credit_custodial, random_address
from tests.payments.test_refunds import in_parallel

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]
WEI = 10**15


def withdraw(user: str, recipient: str, wei: int) -> CustodialWithdrawal:
    with transaction.atomic():
        return custodial_withdraw(user=user, recipient=recipient, amount_wei=str(wei))


def test_two_withdrawals_of_the_whole_balance_at_once_pay_out_once(hub_chain: ChainEnv) -> None:
    for _round in range(3):  # a race lost once could hide: run it a few times
        user, payout = random_address(), random_address()
        credit_custodial(user, "wei", 7 * WEI)
        results = in_parallel([partial(withdraw, user, payout, 7 * WEI)] * 2)
        made = [r for r in results if isinstance(r, CustodialWithdrawal)]
        refused = [r for r in results if isinstance(r, UpdateRejected)]
        assert len(made) == 1 and len(refused) == 1, results
        assert refused[0].code == "insufficient_balance"
        assert account_balance(custodial_account(user), "wei") == 0
        assert CustodialWithdrawal.objects.filter(user=user).count() == 1
        run_hub_transactions()
        assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(payout)) == 7 * WEI
        made[0].refresh_from_db()
        assert made[0].state == CustodialWithdrawal.State.CONFIRMED
    assert account_balance(PAYOUTS, "wei") == 3 * 7 * WEI


def test_a_payout_the_recipient_refuses_gives_the_balance_back_exactly_once(hub_chain: ChainEnv) -> None:
    refuser, _receipt = deploy_contract(hub_chain.w3, hub_chain.funder, "RevertingReceiver")
    user = random_address()
    credit_custodial(user, "wei", 5 * WEI)
    withdrawal = withdraw(user, refuser.address, 5 * WEI)
    assert account_balance(custodial_account(user), "wei") == 0

    run_hub_transactions()
    withdrawal.refresh_from_db()
    tx = withdrawal.chain_transaction
    assert tx is not None
    assert tx.state == ChainTransaction.State.FAILED and "no thanks" in (tx.revert_reason or "")
    assert withdrawal.state == CustodialWithdrawal.State.FAILED and withdrawal.completed_at
    assert account_balance(custodial_account(user), "wei") == 5 * WEI
    assert account_balance(PAYOUTS, "wei") == 0
    assert hub_chain.w3.eth.get_balance(refuser.address) == 0

    entries = LedgerEntry.objects.count()
    with transaction.atomic():
        custodial_withdrawal_completed(tx)  # the outcome delivered again
    outbox.transaction_check(tx_id=tx.pk)
    assert LedgerEntry.objects.count() == entries
    assert account_balance(custodial_account(user), "wei") == 5 * WEI

    # the returned balance can be withdrawn again, to an address that accepts it
    payout = random_address()
    again = withdraw(user, payout, 5 * WEI)
    run_hub_transactions()
    again.refresh_from_db()
    assert again.state == CustodialWithdrawal.State.CONFIRMED
    assert hub_chain.w3.eth.get_balance(Web3.to_checksum_address(payout)) == 5 * WEI
    assert account_balance(custodial_account(user), "wei") == 0


def test_a_token_payout_the_hub_cannot_cover_gives_the_tokens_back(hub_chain: ChainEnv) -> None:
    token = hub_chain.w3.eth.contract(address=Web3.to_checksum_address(hub_chain.deployment.token), abi=[
        {"name": "balanceOf", "type": "function", "stateMutability": "view",
         "inputs": [{"name": "a", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]}])
    held = int(token.functions.balanceOf(hub_chain.hub.address).call())
    user = random_address()
    credit_custodial(user, "token", held + 10**18)
    with transaction.atomic():
        withdrawal = custodial_withdraw(user=user, recipient=random_address(),
                                        amount_token=str(held + 10**18), payout_asset="token")
    run_hub_transactions()
    withdrawal.refresh_from_db()
    assert withdrawal.state == CustodialWithdrawal.State.FAILED
    assert account_balance(custodial_account(user), "token") == held + 10**18
    assert account_balance(PAYOUTS, "token") == 0


def test_withdrawing_more_than_the_balance_is_refused_and_changes_nothing(hub_chain: ChainEnv) -> None:
    user = random_address()
    credit_custodial(user, "wei", 5 * WEI)
    entries = LedgerEntry.objects.count()
    with pytest.raises(UpdateRejected) as refused:
        withdraw(user, random_address(), 5 * WEI + 1)
    assert refused.value.code == "insufficient_balance"
    assert LedgerEntry.objects.count() == entries
    assert CustodialWithdrawal.objects.count() == 0 and ChainTransaction.objects.count() == 0
