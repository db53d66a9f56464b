"""The event ingester against a real anvil: stored once, bounded ranges, confirmations, handlers
exactly once and isolated from each other, and a reorg made with evm_snapshot/evm_revert."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from hub.chain import deploy, ingest
from hub.chain.models import ChainCursor, ChainEvent, ChainReorg
from ops.models import Alarm, Heartbeat
from tests.hub.chain.conftest import mine

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

EventState = ChainEvent.State
CALLS: list[int] = []
BATCHES: list[list[int]] = []


@pytest.fixture(autouse=True)
def _no_transfer_handler() -> Iterator[None]:
    CALLS.clear()
    BATCHES.clear()
    ingest.unregister_event_handler("Transfer")
    yield
    ingest.unregister_event_handler("Transfer")


def run(token: Contract, **kwargs: Any) -> ingest.IngestResult:
    return ingest.events_ingest(address=token.address, abi=token.abi, **kwargs)


def mint(w3: Web3, hub: LocalAccount, token: Contract, amount: int, to: str | None = None) -> int:
    receipt = deploy.mint_tokens(w3, hub, token.address, to or hub.address, amount)
    return int(receipt["blockNumber"])


def test_each_log_is_stored_once_with_json_safe_args(
    w3: Web3, hub_account: LocalAccount, token: Contract,
) -> None:
    holder = Account.create().address
    block = mint(w3, hub_account, token, 2**200 + 1, to=holder)
    first = run(token)
    assert first.stored == 1 and first.caught_up
    assert run(token).stored == 0
    mine(w3, 3)
    assert run(token).stored == 0  # the range is read past the log again: still one row
    (event,) = ChainEvent.objects.all()
    assert event.name == "Transfer" and event.block_number == block
    assert event.contract == token.address.lower()
    assert event.args == {"from": "0x" + "00" * 20, "to": holder.lower(), "value": str(2**200 + 1)}
    assert event.arg_int("value") == 2**200 + 1
    assert event.block_hash == "0x" + bytes(w3.eth.get_block(block)["hash"]).hex()
    cursor = ChainCursor.objects.get(contract=token.address.lower())
    assert cursor.block_number == w3.eth.block_number


def test_logs_are_read_in_bounded_ranges(w3: Web3, hub_account: LocalAccount, token: Contract) -> None:
    blocks = [mint(w3, hub_account, token, amount) for amount in (1, 2, 3, 4, 5)]
    head = w3.eth.block_number
    result = run(token, batch_blocks=2, max_batches=1)
    assert (result.from_block, result.to_block) == (0, 1) and not result.caught_up
    result = run(token, batch_blocks=2, max_batches=2)
    assert (result.from_block, result.to_block) == (2, 5)
    assert ChainCursor.objects.get().block_number == 5
    assert ChainEvent.objects.count() == sum(1 for b in blocks if b <= 5)
    while not run(token, batch_blocks=2, max_batches=1).caught_up:
        pass
    assert ChainCursor.objects.get().block_number == head
    assert sorted(ChainEvent.objects.values_list("block_number", flat=True)) == blocks


def test_logs_wait_for_confirmations(w3: Web3, hub_account: LocalAccount, token: Contract) -> None:
    block = mint(w3, hub_account, token, 7)
    run(token, confirmations=2)
    assert not ChainEvent.objects.exists()
    assert ChainCursor.objects.get().block_number == block - 2
    mine(w3, 2)
    run(token, confirmations=2)
    assert ChainEvent.objects.get().block_number == block


def record_transfer(event: ChainEvent) -> None:
    CALLS.append(event.pk)
    Heartbeat.objects.create(name=f"event-{event.pk}", beat_at=timezone.now())
    if event.arg_int("value") == 13:
        raise RuntimeError("thirteen is unlucky")


def test_handler_runs_exactly_once_and_a_failure_does_not_block_others(
    w3: Web3, hub_account: LocalAccount, token: Contract,
) -> None:
    for amount in (1, 13, 2):
        mint(w3, hub_account, token, amount)
    run(token)
    ingest.register_event_handler("Transfer", record_transfer)
    result = ingest.events_dispatch()
    assert (result.processed, result.failed) == (2, 1)
    assert ingest.events_dispatch().processed == 0  # nothing is handled twice

    by_value = {e.arg_int("value"): e for e in ChainEvent.objects.all()}
    assert {v: e.state for v, e in by_value.items()} == {
        1: EventState.PROCESSED, 13: EventState.FAILED, 2: EventState.PROCESSED}
    failed = by_value[13]
    assert failed.error == "RuntimeError: thirteen is unlucky" and failed.retry_at is not None
    # The failing handler's own write was rolled back with it; the others' committed once.
    assert set(Heartbeat.objects.values_list("name", flat=True)) == {
        f"event-{by_value[1].pk}", f"event-{by_value[2].pk}"}
    assert CALLS == [by_value[1].pk, failed.pk, by_value[2].pk]

    # Retried after its back-off; a fixed handler then processes it once.
    ingest.register_event_handler("Transfer", lambda event: CALLS.append(-event.pk), replace=True)
    assert ingest.events_dispatch().processed == 0  # not due yet
    later = timezone.now() + timedelta(hours=2)
    assert ingest.events_dispatch(now=later).processed == 1
    failed.refresh_from_db()
    assert failed.state == EventState.PROCESSED and failed.attempts == 2 and failed.error == ""
    assert CALLS[-1] == -failed.pk and ingest.events_dispatch(now=later).processed == 0


def record_transfers(events: list[ChainEvent]) -> None:
    """`record_transfer`'s batch form."""
    BATCHES.append([event.pk for event in events])
    Heartbeat.objects.bulk_create([Heartbeat(name=f"batch-{e.pk}", beat_at=timezone.now()) for e in events])
    if any(event.arg_int("value") == 13 for event in events):
        raise RuntimeError("thirteen is unlucky")


def test_a_run_of_events_goes_to_the_batch_handler_and_a_failing_batch_to_the_handler_one_by_one(
    w3: Web3, hub_account: LocalAccount, token: Contract,
) -> None:
    for amount in (1, 2, 3):
        mint(w3, hub_account, token, amount)
    run(token)
    ingest.register_event_handler("Transfer", record_transfer, batch=record_transfers)
    assert ingest.events_dispatch().processed == 3
    first = list(ChainEvent.objects.order_by("block_number", "log_index"))
    assert BATCHES == [[e.pk for e in first]] and CALLS == []
    assert {(e.state, e.was_processed, e.attempts, e.handler) for e in first} == {
        (EventState.PROCESSED, True, 1, "tests.hub.chain.test_ingest.record_transfer")}
    assert ingest.events_dispatch().processed == 0  # nothing is handled twice

    # A batch that raises is undone whole; its events then go to the handler one by one, and
    # only the failing one fails (as without a batch form).
    for amount in (4, 13, 5):
        mint(w3, hub_account, token, amount)
    run(token)
    result = ingest.events_dispatch()
    assert (result.processed, result.failed) == (2, 1)
    second = [e for e in ChainEvent.objects.order_by("block_number", "log_index") if e not in first]
    assert BATCHES[1:] == [[e.pk for e in second]] and CALLS == [e.pk for e in second]
    assert [e.state for e in second] == [EventState.PROCESSED, EventState.FAILED, EventState.PROCESSED]
    assert set(Heartbeat.objects.values_list("name", flat=True)) == {
        *(f"batch-{e.pk}" for e in first), f"event-{second[0].pk}", f"event-{second[2].pk}"}

    # Registered again without a batch form (a wrapper, say): the old batch form is not used.
    ingest.register_event_handler("Transfer", record_transfer, replace=True)
    for amount in (6, 7):
        mint(w3, hub_account, token, amount)
    run(token)
    assert ingest.events_dispatch().processed == 2
    assert len(BATCHES) == 2 and len(CALLS) == 5


def test_registering_a_second_handler_for_a_name_is_refused() -> None:
    ingest.register_event_handler("Transfer", record_transfer)
    ingest.register_event_handler("Transfer", record_transfer)  # the same one again is fine
    with pytest.raises(ValueError, match="already registered"):
        ingest.register_event_handler("Transfer", lambda event: None)


def test_events_without_a_handler_are_ignored_and_can_be_redispatched(
    w3: Web3, hub_account: LocalAccount, token: Contract,
) -> None:
    mint(w3, hub_account, token, 1)
    run(token)
    assert ingest.events_dispatch().ignored == 1
    event = ChainEvent.objects.get()
    assert event.state == EventState.IGNORED
    ingest.register_event_handler("Transfer", record_transfer)
    assert ingest.events_redispatch(event_ids=[event.pk]) == 1
    assert ingest.events_dispatch().processed == 1 and CALLS == [event.pk]


def test_reorg_is_detected_alarmed_and_orphaned_events_are_replaced(
    w3: Web3, hub_account: LocalAccount, token: Contract,
) -> None:
    ingest.register_event_handler("Transfer", record_transfer)
    mint(w3, hub_account, token, 100)
    run(token)
    ingest.events_dispatch()
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    fork_block = w3.eth.block_number

    doomed_block = mint(w3, hub_account, token, 1)  # will vanish
    mine(w3, 1)
    run(token)
    ingest.events_dispatch()
    doomed = ChainEvent.objects.get(block_number=doomed_block)
    assert doomed.state == EventState.PROCESSED

    assert w3.provider.make_request("evm_revert", [snapshot])["result"] is True  # type: ignore[arg-type]
    mine(w3, 1)  # a different block at the doomed height, with nothing in it
    replacement_block = mint(w3, hub_account, token, 2)  # then a different event
    assert w3.eth.block_number == doomed_block + 1 == replacement_block

    result = run(token)
    assert len(result.reorgs) == 1
    reorg = ChainReorg.objects.get()
    assert reorg.block_number == doomed_block + 1 and reorg.rewound_to < fork_block
    assert (reorg.orphaned_events, reorg.orphaned_processed_events) == (1, 1)
    alarm = Alarm.objects.get(kind="reorg")
    assert alarm.severity == Alarm.Severity.CRITICAL and alarm.key == token.address.lower()

    doomed.refresh_from_db()
    assert doomed.state == EventState.ORPHANED and doomed.was_processed
    current = ChainEvent.objects.exclude(state=EventState.ORPHANED).order_by("block_number")
    assert [(e.arg_int("value"), e.block_number) for e in current] == [
        (100, fork_block), (2, replacement_block)]
    assert ingest.events_dispatch().processed == 1
    cursor = ChainCursor.objects.get()
    assert cursor.block_hash == "0x" + bytes(w3.eth.get_block(cursor.block_number)["hash"]).hex()
    assert run(token).reorgs == []  # settled


def test_static_event_arguments_are_read_as_web3_reads_them() -> None:
    """The ingester reads all-static events word by word; web3's decoding is the reference, for
    every static type, nested arrays, extreme values and words web3 refuses."""
    from eth_abi import encode
    from hexbytes import HexBytes

    inputs = [("address", "who", True), ("int8", "small", True), ("bytes32", "root", True),
              ("int256", "signed", False), ("bool", "flag", False), ("bytes4", "tag", False),
              ("address[2]", "pair", False), ("uint256[2][3]", "grid", False), ("uint64", "count", False)]
    entry = {"type": "event", "name": "Everything", "anonymous": False,
             "inputs": [{"type": t, "name": n, "indexed": i} for t, n, i in inputs]}
    (decoder,) = ingest._decoders("0x" + "11" * 20, [entry]).values()
    assert decoder[2] is not None
    topic0 = HexBytes(next(iter(ingest._decoders("0x" + "11" * 20, [entry]))))
    who, pair = "0x" + "ab" * 20, ["0x" + "00" * 19 + "01", "0x" + "ff" * 20]
    for small, signed, flag, count in ((-128, -(2**255), True, 2**64 - 1), (127, 2**255 - 1, False, 0)):
        data = encode(["int256", "bool", "bytes4", "address[2]", "uint256[2][3]", "uint64"],
                      [signed, flag, b"\x01\x02\x03\x04", pair, [[1, 2], [3, 2**256 - 1], [0, 5]], count])
        log = {"topics": [topic0, HexBytes(encode(["address"], [who])), HexBytes(encode(["int8"], [small])),
                          HexBytes(b"\x07" * 32)],
               "data": HexBytes(data), "logIndex": 0, "transactionIndex": 0, "transactionHash": HexBytes(b"\x01" * 32),
               "address": "0x" + "11" * 20, "blockHash": HexBytes(b"\x02" * 32), "blockNumber": 1}
        fast = decoder[2].decode(log["topics"], bytes(log["data"]))
        reference = {k: ingest._jsonable(v, decoder[1][k]) for k, v in decoder[0].process_log(log)["args"].items()}
        assert fast == reference and list(fast) == list(reference)
        assert ingest._decode(decoder, log) == ("Everything", reference)
        # a word web3 refuses (a bool of 2, an address with padding, short data): web3 decides
        for bad in (data[:32] + (2).to_bytes(32, "big") + data[64:], data[:-32]):
            assert decoder[2].decode(log["topics"], bad) is None
        padded = [*log["topics"][:1], HexBytes(b"\x01" + bytes(encode(["address"], [who]))[1:]), *log["topics"][2:]]
        assert decoder[2].decode(padded, data) is None
