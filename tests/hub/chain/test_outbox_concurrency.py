"""Many hub transactions at once (threat K2): one nonce each, contiguous, all confirmed."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from eth_account import Account
from web3 import Web3

from hub.chain import outbox
from hub.chain.models import ChainTransaction
from tests.hub.chain.conftest import HUB_KEY, mined_transactions_from

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

PARALLEL = 50


def test_fifty_concurrent_transactions_get_contiguous_nonces_and_confirm(w3: Web3) -> None:
    hub = Account.from_key(HUB_KEY).address
    recipient = Account.create().address
    start = threading.Barrier(PARALLEL)
    errors: list[BaseException] = []

    def send(i: int) -> None:
        try:
            start.wait()
            with transaction.atomic():
                tx = outbox.transaction_enqueue(
                    purpose="load", to=recipient, data="0x", value=i + 1,
                    idempotency_key=f"load-{i}",
                )
            outbox.transaction_submit(tx_id=tx.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()  # each thread had its own connection

    threads = [threading.Thread(target=send, args=(i,)) for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[:3]

    for tx_id in ChainTransaction.objects.values_list("id", flat=True):
        outbox.transaction_check(tx_id=tx_id)
    rows = list(ChainTransaction.objects.all())
    assert len(rows) == PARALLEL
    assert sorted(r.nonce for r in rows) == list(range(PARALLEL))
    assert {r.state for r in rows} == {ChainTransaction.State.CONFIRMED}
    assert sorted(t["nonce"] for t in mined_transactions_from(w3, hub)) == list(range(PARALLEL))
    assert w3.eth.get_balance(recipient) == sum(range(1, PARALLEL + 1))
