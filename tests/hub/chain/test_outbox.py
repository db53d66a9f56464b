"""The transaction outbox against a real anvil and PostgreSQL: states, reverts, fee bumps with the
same nonce, cancellation, a nonce taken by someone else, on_complete exactly once."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.db import transaction
from eth_account import Account
from web3 import Web3
from web3.contract import Contract

from hub.chain import outbox
from hub.chain.models import ChainTransaction, ChainTransactionAttempt, NonceCursor
from ops.models import Heartbeat
from tests.hub.chain.conftest import HUB_KEY, mine, mined_transactions_from, set_automine

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

State = ChainTransaction.State
COMPLETED: list[tuple[int, str]] = []


def record_completion(tx: ChainTransaction) -> None:
    """on_complete target: a DB write (must commit once) and an in-process count."""
    COMPLETED.append((tx.pk, tx.state))
    Heartbeat.objects.create(name=f"tx-done-{tx.pk}", beat_at=tx.completed_at, detail={"state": tx.state})


ON_COMPLETE = f"{__name__}.record_completion"


@pytest.fixture(autouse=True)
def _clear_completed() -> None:
    COMPLETED.clear()


def enqueue(to: str, *, data: str | bytes = "0x", value: int = 0, key: str | None = None,
            **extra: Any) -> ChainTransaction:
    with transaction.atomic():
        return outbox.transaction_enqueue(
            purpose="test", to=to, data=data, value=value,
            idempotency_key=key or secrets.token_hex(8), on_complete=ON_COMPLETE, **extra,
        )


def random_address() -> str:
    return Account.create().address


def test_transaction_goes_new_submitted_confirmed_and_completes_once(w3: Web3) -> None:
    hub = Account.from_key(HUB_KEY).address
    recipient = random_address()
    tx = enqueue(recipient, value=12_345)
    assert tx.state == State.NEW and tx.nonce is None and tx.sender == hub.lower()

    tx = outbox.transaction_submit(tx_id=tx.pk)
    assert tx.state == State.SUBMITTED and tx.nonce == 0
    attempt = tx.attempts.get()
    assert attempt.broadcast_at is not None and attempt.kind == ChainTransactionAttempt.Kind.ORIGINAL
    assert tx.gas_estimate == 21_000 and tx.gas_limit == 25_200

    tx = outbox.transaction_check(tx_id=tx.pk)
    assert tx.state == State.CONFIRMED
    assert tx.tx_hash == attempt.tx_hash and tx.receipt_status == 1 and tx.gas_used == 21_000
    assert tx.block_hash == "0x" + bytes(w3.eth.get_block(tx.block_number)["hash"]).hex()
    assert w3.eth.get_balance(recipient) == 12_345

    # Running every step again changes nothing and does not call back again.
    assert outbox.transaction_submit(tx_id=tx.pk).state == State.CONFIRMED
    assert outbox.transaction_check(tx_id=tx.pk).state == State.CONFIRMED
    assert COMPLETED == [(tx.pk, State.CONFIRMED)]
    assert Heartbeat.objects.filter(name=f"tx-done-{tx.pk}").count() == 1
    assert len(mined_transactions_from(w3, hub)) == 1


def test_enqueue_is_idempotent_on_its_key(w3: Web3) -> None:
    to = random_address()
    first = enqueue(to, value=5, key="same-key")
    again = enqueue(to, value=5, key="same-key")
    assert again.pk == first.pk
    assert ChainTransaction.objects.count() == 1
    with pytest.raises(ValueError, match="value"):
        enqueue(to, value=6, key="same-key")


def test_rolled_back_enqueue_leaves_nothing(w3: Web3) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.transaction_enqueue(purpose="test", to=random_address(), data="0x",
                                   idempotency_key="rolled-back")
        raise RuntimeError("the caller's decision failed")
    assert not ChainTransaction.objects.exists()


def test_receipt_waits_for_confirmations(w3: Web3, settings: Any) -> None:
    settings.CONFIRMATIONS = 2
    tx = outbox.transaction_submit(tx_id=enqueue(random_address(), value=1).pk)
    assert outbox.transaction_check(tx_id=tx.pk).state == State.SUBMITTED  # mined, 0 on top
    mine(w3, 1)
    assert outbox.transaction_check(tx_id=tx.pk).state == State.SUBMITTED
    mine(w3, 1)
    assert outbox.transaction_check(tx_id=tx.pk).state == State.CONFIRMED
    assert COMPLETED == [(tx.pk, State.CONFIRMED)]


def test_call_reverting_in_simulation_fails_without_using_a_nonce(
    w3: Web3, channel_manager: Contract,
) -> None:
    data = channel_manager.encode_abi("emptyChannel", [random_address()])
    count_before = w3.eth.get_transaction_count(Account.from_key(HUB_KEY).address)
    tx = outbox.transaction_submit(tx_id=enqueue(channel_manager.address, data=data).pk)
    assert tx.state == State.FAILED
    assert tx.nonce is None and not tx.attempts.exists()
    assert "channel must be in dispute" in tx.revert_reason
    assert w3.eth.get_transaction_count(Account.from_key(HUB_KEY).address) == count_before
    assert COMPLETED == [(tx.pk, State.FAILED)]
    # The next transaction gets the nonce the failed one never took: no gap.
    follow = outbox.transaction_submit(tx_id=enqueue(random_address(), value=1).pk)
    assert follow.nonce == count_before


def test_simulation_revert_waits_while_earlier_hub_transactions_are_open(
    w3: Web3, channel_manager: Contract,
) -> None:
    set_automine(w3, False)
    earlier = outbox.transaction_submit(tx_id=enqueue(random_address(), value=1).pk)
    data = channel_manager.encode_abi("emptyChannel", [random_address()])
    later = enqueue(channel_manager.address, data=data)
    with pytest.raises(outbox.TransactionDeferred):
        outbox.transaction_submit(tx_id=later.pk)
    later.refresh_from_db()
    assert later.state == State.NEW and later.nonce is None
    assert "channel must be in dispute" in later.last_error
    mine(w3, 1)
    assert outbox.transaction_check(tx_id=earlier.pk).state == State.CONFIRMED
    assert outbox.transaction_submit(tx_id=later.pk).state == State.FAILED


def test_transaction_reverted_on_chain_fails_with_its_revert_reason(
    w3: Web3, channel_manager: Contract,
) -> None:
    data = channel_manager.encode_abi("emptyChannel", [random_address()])
    tx = enqueue(channel_manager.address, data=data, gas_limit=200_000)
    tx = outbox.transaction_submit(tx_id=tx.pk)
    assert tx.state == State.SUBMITTED
    tx = outbox.transaction_check(tx_id=tx.pk)
    assert tx.state == State.FAILED
    assert tx.receipt_status == 0 and tx.failure_reason == "reverted on chain"
    assert "channel must be in dispute" in tx.revert_reason
    assert w3.eth.get_transaction_receipt(tx.tx_hash)["status"] == 0
    assert COMPLETED == [(tx.pk, State.FAILED)]


def test_held_transaction_is_replaced_with_a_fee_bump_at_the_same_nonce(w3: Web3) -> None:
    hub = Account.from_key(HUB_KEY).address
    set_automine(w3, False)
    recipient = random_address()
    tx = outbox.transaction_submit(tx_id=enqueue(recipient, value=777).pk)
    first = tx.attempts.get()

    # Not yet due: the check only re-broadcasts.
    assert outbox.transaction_check(tx_id=tx.pk).attempts.count() == 1
    tx = outbox.transaction_check(tx_id=tx.pk, resubmit_after=0)
    second = tx.attempts.order_by("id").last()
    assert second is not None and second.kind == ChainTransactionAttempt.Kind.BUMP
    assert second.nonce == first.nonce == tx.nonce
    assert second.max_fee_per_gas * 8 >= first.max_fee_per_gas * 9
    assert second.max_priority_fee_per_gas * 8 >= first.max_priority_fee_per_gas * 9

    # The old attempt cannot come back: the node refuses it as an underpriced replacement.
    assert outbox._broadcast(w3, tx.pk, first) in ("underpriced", "known")
    mine(w3, 1)
    tx = outbox.transaction_check(tx_id=tx.pk)
    assert tx.state == State.CONFIRMED and tx.tx_hash == second.tx_hash
    mined = mined_transactions_from(w3, hub)
    assert [("0x" + bytes(t["hash"]).hex(), t["nonce"]) for t in mined] == [(second.tx_hash, tx.nonce)]
    assert w3.eth.get_balance(recipient) == 777
    assert COMPLETED == [(tx.pk, State.CONFIRMED)]


def test_cancel_replaces_with_a_self_transfer_and_fails_the_transaction(w3: Web3) -> None:
    hub = Account.from_key(HUB_KEY).address
    set_automine(w3, False)
    recipient = random_address()
    tx = outbox.transaction_submit(tx_id=enqueue(recipient, value=999).pk)
    tx = outbox.transaction_cancel(tx_id=tx.pk)
    cancel = tx.attempts.order_by("id").last()
    assert cancel is not None and cancel.kind == ChainTransactionAttempt.Kind.CANCEL
    mine(w3, 1)
    tx = outbox.transaction_check(tx_id=tx.pk)
    assert tx.state == State.FAILED and tx.failure_reason.startswith("cancelled")
    (mined,) = mined_transactions_from(w3, hub)
    assert mined["to"] == hub and mined["value"] == 0 and mined["nonce"] == tx.nonce
    assert w3.eth.get_balance(recipient) == 0
    assert COMPLETED == [(tx.pk, State.FAILED)]


def test_cancel_unsent_never_signs_the_payload_and_still_uses_the_nonce(w3: Web3) -> None:
    hub = Account.from_key(HUB_KEY).address
    recipient = random_address()
    tx = enqueue(recipient, value=5)
    tx = outbox._prepare(w3, tx)  # nonce allocated, nothing signed yet
    assert tx.nonce == 0 and outbox.transaction_cancel_unsent(tx.pk) is True
    tx = outbox.transaction_check(tx_id=outbox.transaction_submit(tx_id=tx.pk).pk)
    assert tx.state == State.FAILED
    assert list(tx.attempts.values_list("kind", flat=True)) == ["cancel"]
    assert w3.eth.get_balance(recipient) == 0 and len(mined_transactions_from(w3, hub)) == 1

    sent = outbox.transaction_submit(tx_id=enqueue(recipient, value=5).pk)
    assert outbox.transaction_cancel_unsent(sent.pk) is False  # it may be on chain


def test_nonce_taken_by_another_transaction_fails_the_logical_one(w3: Web3) -> None:
    hub = Account.from_key(HUB_KEY)
    set_automine(w3, False)
    tx = outbox.transaction_submit(tx_id=enqueue(random_address(), value=3).pk)
    ours = tx.attempts.get()
    # Another tool with the hub key sends a different transaction at the same nonce, paying more.
    other = hub.sign_transaction({
        "type": 2, "chainId": 31337, "nonce": tx.nonce, "to": hub.address, "value": 1,
        "gas": 21_000, "maxFeePerGas": ours.max_fee_per_gas * 3,
        "maxPriorityFeePerGas": ours.max_priority_fee_per_gas * 3,
    })
    w3.eth.send_raw_transaction(other.raw_transaction)
    mine(w3, 1)
    tx = outbox.transaction_check(tx_id=tx.pk, resubmit_after=3600)
    assert tx.state == State.FAILED
    assert "used by another mined transaction" in tx.failure_reason
    assert COMPLETED == [(tx.pk, State.FAILED)]


def test_mempool_timeout_alone_never_fails_a_transaction(w3: Web3) -> None:
    set_automine(w3, False)
    tx = outbox.transaction_submit(tx_id=enqueue(random_address(), value=3).pk)
    for _ in range(3):
        tx = outbox.transaction_check(tx_id=tx.pk, resubmit_after=0)
    assert tx.state == State.SUBMITTED and tx.attempts.count() == 4
    mine(w3, 1)
    assert outbox.transaction_check(tx_id=tx.pk).state == State.CONFIRMED


def test_nonce_cursor_starts_from_the_chain_and_follows_outside_use(w3: Web3) -> None:
    hub = Account.from_key(HUB_KEY)
    for nonce in range(2):  # the key was used before the hub's database existed
        signed = hub.sign_transaction({"type": 2, "chainId": 31337, "nonce": nonce, "to": hub.address,
                                       "value": 0, "gas": 21_000, "maxFeePerGas": 10**10,
                                       "maxPriorityFeePerGas": 10**9})
        w3.eth.send_raw_transaction(signed.raw_transaction)
    tx = outbox.transaction_submit(tx_id=enqueue(random_address(), value=1).pk)
    assert tx.nonce == 2
    assert NonceCursor.objects.get(sender=hub.address.lower()).next_nonce == 3


def test_sweep_resends_open_transactions(w3: Web3) -> None:
    import dramatiq

    fresh = enqueue(random_address(), value=1)
    submitted = outbox.transaction_submit(tx_id=enqueue(random_address(), value=1).pk)
    broker = dramatiq.get_broker()
    broker.flush_all()
    assert outbox.transactions_sweep(grace_seconds=3600) == 0  # both were just written
    assert outbox.transactions_sweep(grace_seconds=0) == 2
    sent = [(m.actor_name, m.args) for m in _queued(broker, "chain")]
    assert sorted(sent) == [("check_transaction", (submitted.pk,)), ("submit_transaction", (fresh.pk,))]


def _queued(broker: Any, queue: str) -> list[Any]:
    from dramatiq import Message

    q = broker.queues[queue]
    return [Message.decode(raw) for raw in list(q.queue)]


def _reorg(w3: Web3, depth: int) -> None:
    """Replace the newest `depth` blocks with empty ones (anvil's reorg: their transactions are gone)."""
    w3.provider.make_request("anvil_reorg", [depth, []])  # type: ignore[arg-type]


def test_a_confirmed_transaction_that_a_reorg_removed_is_rebroadcast_with_an_alarm(
    w3: Web3, settings: Any,
) -> None:
    from ops.models import Alarm

    settings.CONFIRMATIONS = 2
    recipient = random_address()
    tx = outbox.transaction_submit(tx_id=enqueue(recipient, value=777).pk)
    mine(w3, 2)
    tx = outbox.transaction_check(tx_id=tx.pk)
    assert tx.state == State.CONFIRMED and w3.eth.get_balance(recipient) == 777
    assert outbox.transactions_recheck_confirmed() == 0
    old_block = tx.block_number
    assert old_block is not None

    _reorg(w3, 3)  # deeper than CONFIRMATIONS: the confirmed transaction's block is gone
    assert w3.eth.get_balance(recipient) == 0
    assert outbox.transactions_recheck_confirmed() == 1
    alarm = Alarm.objects.get(kind="tx_reorged", key=f"tx:{tx.pk}")
    assert alarm.severity == "warning" and alarm.detail["rebroadcast"] == "sent"
    assert w3.eth.get_balance(recipient) == 777  # the same signed bytes, mined again

    assert outbox.transactions_recheck_confirmed() == 1  # found in its new block: recorded
    tx.refresh_from_db()
    assert tx.state == State.CONFIRMED and tx.block_number is not None and tx.block_number > old_block
    assert tx.block_hash == "0x" + bytes(w3.eth.get_block(tx.block_number)["hash"]).hex()
    assert outbox.transactions_recheck_confirmed() == 0
    assert COMPLETED == [(tx.pk, State.CONFIRMED)]  # its callback ran once, never again


def test_a_reorged_transaction_whose_nonce_another_transaction_took_raises_a_critical_alarm(
    w3: Web3, settings: Any,
) -> None:
    from hub.chain.deploy import send_transaction
    from ops.models import Alarm

    settings.CONFIRMATIONS = 1
    tx = outbox.transaction_submit(tx_id=enqueue(random_address(), value=5).pk)
    mine(w3, 1)
    tx = outbox.transaction_check(tx_id=tx.pk)
    assert tx.state == State.CONFIRMED
    _reorg(w3, 2)
    # the hub key signs something else with the freed nonce before the hub notices
    send_transaction(w3, Account.from_key(HUB_KEY), {"to": random_address(), "value": 1, "nonce": tx.nonce})
    assert outbox.transactions_recheck_confirmed() == 1
    alarm = Alarm.objects.get(kind="tx_reorged", key=f"tx:{tx.pk}")
    assert alarm.severity == "critical" and alarm.detail["rebroadcast"] == "nonce_used"
    tx.refresh_from_db()
    assert tx.state == State.CONFIRMED and COMPLETED == [(tx.pk, State.CONFIRMED)]


def test_the_recheck_asks_the_canonical_hashes_in_one_batch_with_the_same_answers(w3: Web3) -> None:
    """`_canonical_hashes` (one JSON-RPC batch) answers what `_canonical_hash` answers block by
    block: the hash of a block on the chain, None past its head."""
    mine(w3, 3)
    head = w3.eth.block_number
    numbers = [head, 0, head - 1, head, head + 5, 1]
    calls: list[Any] = []
    batch = w3.provider.make_batch_request  # type: ignore[attr-defined]
    w3.provider.make_batch_request = lambda requests: calls.append(requests) or batch(requests)  # type: ignore[attr-defined]
    try:
        found = outbox._canonical_hashes(w3, numbers)
    finally:
        del w3.provider.make_batch_request  # type: ignore[attr-defined]
    assert len(calls) == 1 and len(calls[0]) == 5  # distinct blocks, one request
    assert found == {n: outbox._canonical_hash(w3, n) for n in set(numbers)}
    assert found[head + 5] is None and found[head] is not None
