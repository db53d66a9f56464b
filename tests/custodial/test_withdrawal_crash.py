"""A worker killed with SIGKILL in the middle of a custodial withdrawal, then restarted,
produces exactly one on-chain transaction and a consistent ledger (issue 5)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from dramatiq.brokers.redis import RedisBroker
from eth_account import Account
from web3 import Web3

from hub.chain.crash import CRASH_POINTS
from hub.chain.models import ChainTransaction
from hub.custodial.models import CustodialWithdrawal
from hub.custodial.services import PAYOUTS, custodial_account, custodial_withdraw
from hub.ledger.services import account_balance, post
from hub.rates.models import RateSource
from hub.rates.services import rate_refresh
from tests.hub.chain.conftest import (  # noqa: F401 - fixtures
    HUB_KEY,
    chain_settings,
    hub_key_file,
    mined_transactions_from,
    node,
    w3,
)
from tests.hub.chain.test_worker_crash import _send, _wait_for, redis_broker, start_worker  # noqa: F401

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
TOKEN = 10**18


@pytest.mark.parametrize("crash_at", CRASH_POINTS)
def test_a_custodial_withdrawal_survives_a_killed_worker(
    crash_at: str, w3: Web3, redis_broker: RedisBroker,  # noqa: F811
    start_worker: Callable[..., Any],  # noqa: F811
) -> None:
    RateSource.objects.create(kind="operator", operator_rate="250")
    rate_refresh()
    shop = Account.create().address.lower()
    payout = Account.create().address
    post([(custodial_account(shop), "token", 5 * TOKEN), ("test:funding", "token", -5 * TOKEN)],
         memo="test credit")
    with transaction.atomic():
        withdrawal = custodial_withdraw(user=shop, recipient=payout, amount_token=str(5 * TOKEN))
    tx = withdrawal.chain_transaction
    assert tx is not None
    _send(redis_broker, "submit_transaction", tx.pk)
    assert start_worker(crash_at).wait(timeout=90) == 137

    start_worker(None)
    _send(redis_broker, "sweep_transactions")

    def done() -> bool:
        tx.refresh_from_db()
        if tx.state == ChainTransaction.State.SUBMITTED:
            _send(redis_broker, "sweep_transactions")
            time.sleep(0.5)
        return tx.state == ChainTransaction.State.CONFIRMED

    _wait_for(done, 90, "the payout to be confirmed")
    hub = Account.from_key(HUB_KEY).address
    assert len(mined_transactions_from(w3, hub)) == 1
    assert w3.eth.get_balance(payout) == 5 * TOKEN // 250
    withdrawal.refresh_from_db()
    assert withdrawal.state == CustodialWithdrawal.State.CONFIRMED
    assert account_balance(custodial_account(shop), "token") == 0
    assert account_balance(PAYOUTS, "token") == 5 * TOKEN
