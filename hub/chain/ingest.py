"""The event ingester: contract logs into `ChainEvent` rows, then to handlers registered by name.

Guarantees (threat K3):
- Logs are read only up to head - CONFIRMATIONS, in bounded block ranges, and each log is stored
  once (UNIQUE (tx_hash, log_index)) however often a range is read again.
- A reorg deeper than that is detected by comparing the stored hash of the last ingested block
  with the chain's hash at that height: it is recorded (`ChainReorg`), alarmed, the cursor is
  rewound to a block whose events are still canonical, events whose block vanished are marked
  ORPHANED and the range is read again.
- Each event's handler runs in the same DB transaction that marks the event processed, so its
  writes commit exactly once. A handler that raises rolls back its own writes, marks the event
  FAILED (retried later with back-off) and does not hold up other events.
- A handler may have a batch form (a block's hundreds of DidUpdateChannel events in a handful
  of statements instead of a handful each): it gets a run of consecutive events of its name in
  one savepoint of the same transaction, and when it raises, its writes are undone and the
  events go to the single handler one by one, so the result is the same either way.
- One ingester at a time (a PostgreSQL advisory lock, `ingester_lock`): events are dispatched
  in chain order, so the events of one channel are handled in the order the chain emitted them.
  A pass that finds another one running does nothing (that one does the work).
- A scheduled run (`events_follow`) keeps asking the node for a new block until the next run
  takes over: POLL_SECONDS after a block, then twice as long after each ask that finds none, up
  to POLL_MAX_SECONDS. So a block is handled within a fraction of a second of its mining rather
  than up to an interval later, and a quiet chain is asked five times a second, not twenty
  (each ask is an RPC request, and the node's work, on the machine that serves payments).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Min, Q
from django.utils import timezone
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3RPCError

from hub.chain.artifacts import load_abi
from hub.chain.client import get_web3
from hub.chain.models import ChainCursor, ChainEvent, ChainReorg
from ops.rows import pg_array
from ops.services import alarm_raise

logger = logging.getLogger(__name__)

EventState = ChainEvent.State
EventHandler = Callable[[ChainEvent], None]
BatchHandler = Callable[[list[ChainEvent]], None]

BATCH_BLOCKS = 2_000  # eth_getLogs ranges most providers accept
MAX_BATCHES_PER_RUN = 10  # keeps one run (one actor message) short
REORG_REWIND_BLOCKS = 64  # how far a detected reorg rewinds before re-reading
RETRY_BASE_SECONDS = 5
RETRY_MAX_SECONDS = 3_600
ALARM_AFTER_FAILURES = 10
DISPATCH_PER_PASS = 500
DISPATCH_SECONDS_PER_RUN = 30  # well inside the actor's time limit
INGEST_INTERVAL_SECONDS = 1  # the scheduler sends a run this often; the next one takes over
FOLLOW_SECONDS = 3.0  # a run follows at most this long after its message was sent
POLL_SECONDS = 0.05  # how soon after a block a following run asks the node for its head again
POLL_MAX_SECONDS = 0.2  # the longest wait between two asks while the head stays where it was
INGESTER_LOCK = 0x5F0C_0031  # pg advisory locks: one ingester (ingest and dispatch) at a time,
SUCCESSOR_LOCK = 0x5F0C_0032  # and one run waiting to take over from it

# --- handler registry -------------------------------------------------------------------------

_handlers: dict[str, EventHandler] = {}
_batch_handlers: dict[str, BatchHandler] = {}


def register_event_handler(event_name: str, func: EventHandler, *, replace: bool = False,
                           batch: BatchHandler | None = None) -> EventHandler:
    """Route events called `event_name` (e.g. "DidUpdateChannel") to `func(event)`.

    One handler per name: registering a different function for a taken name raises unless
    `replace`. Register at import time of a module every process loads (an app's `ready()` or
    a `tasks` module), so the worker that dispatches knows every handler. `func` runs inside the
    dispatch DB transaction and must not commit side effects outside the database (use
    `transaction.on_commit`).

    `batch(events)`, when given, does what `func` does for each of a run of consecutive events of
    that name (in chain order), in fewer statements, all or nothing: when it raises, its writes
    are undone and `func` handles the events one by one (so a failing event fails alone).
    Registering without `batch` drops the name's batch handler (a wrapper of `func` must not be
    bypassed)."""
    current = _handlers.get(event_name)
    if current is not None and current is not func and not replace:
        raise ValueError(f"a handler for {event_name!r} is already registered: {_name_of(current)}")
    _handlers[event_name] = func
    if batch is None:
        _batch_handlers.pop(event_name, None)
    else:
        _batch_handlers[event_name] = batch
    return func


def event_handler(event_name: str) -> Callable[[EventHandler], EventHandler]:
    """Decorator form of `register_event_handler`."""
    def decorate(func: EventHandler) -> EventHandler:
        return register_event_handler(event_name, func)
    return decorate


def unregister_event_handler(event_name: str) -> None:
    _handlers.pop(event_name, None)
    _batch_handlers.pop(event_name, None)


def registered_event_handlers() -> dict[str, EventHandler]:
    return dict(_handlers)


def _name_of(func: Callable[..., Any]) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


# --- ingestion --------------------------------------------------------------------------------


@dataclass
class IngestResult:
    from_block: int | None = None
    to_block: int | None = None
    stored: int = 0
    reorgs: list[int] = field(default_factory=list)  # ChainReorg ids
    caught_up: bool = False


def _hex(value: Any) -> str:
    return "0x" + bytes(value).hex()


# The node's answers read raw (JSON-RPC), not through web3's result formatters: a block of 500
# logs came back as 500 AttributeDicts of HexBytes, and the block's header with its 500
# transaction hashes, about a fifth of the ingester's samples (py-spy, bench/ingest_bench.py).


def _rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    response = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    if response.get("error"):
        raise Web3RPCError(f"{method}: {response['error']}", rpc_response=response)
    return response.get("result")


def _block_hash(w3: Web3, number: int) -> str | None:
    if number < 0:
        return ""
    block = _rpc(w3, "eth_getBlockByNumber", [hex(number), False])
    if block is None:  # the chain is now shorter than that
        return None
    return str(block["hash"]).lower()


def _get_logs(w3: Web3, address: str, first: int, last: int) -> list[dict[str, Any]]:
    """The contract's logs in blocks first..last, each with the fields ingestion reads as web3
    formats them (bytes, ints), which is also what web3's own decoding takes."""
    checksummed = Web3.to_checksum_address(address)
    raw = _rpc(w3, "eth_getLogs", [{"address": checksummed, "fromBlock": hex(first), "toBlock": hex(last)}])
    return [{
        "address": checksummed,  # the filter's: the node answers for this address only
        "topics": [HexBytes(topic) for topic in log["topics"]],
        "data": HexBytes(log["data"]),
        "blockNumber": int(log["blockNumber"], 16), "blockHash": HexBytes(log["blockHash"]),
        "transactionHash": HexBytes(log["transactionHash"]),
        "transactionIndex": int(log["transactionIndex"], 16), "logIndex": int(log["logIndex"], 16),
    } for log in raw or []]


def _jsonable(value: Any, abi_type: str) -> Any:
    if isinstance(value, list | tuple):
        inner = abi_type[: abi_type.rindex("[")] if abi_type.endswith("]") else abi_type
        return [_jsonable(v, inner) for v in value]
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)  # JSON numbers lose precision past 2**53
    if isinstance(value, bytes | bytearray):
        return _hex(value)
    if isinstance(value, str) and abi_type == "address":
        return value.lower()
    return value


_STATIC = re.compile(r"(address|bool|u?int(\d*)|bytes(\d+))((\[\d+\])*)$")


def _word_reader(abi_type: str) -> tuple[int, Callable[[bytes], Any]] | None:
    """For a static ABI type: how many 32-byte words it takes and what reads them into the JSON
    form `_jsonable` gives web3's decoding (None: not a static type handled here). A reader
    raises ValueError on a word web3 would refuse (non-zero padding, a value out of range)."""
    match = _STATIC.match(abi_type)
    if match is None:
        return None
    base, bits, size, dims = match.group(1), match.group(2), match.group(3), match.group(4)
    read: Callable[[bytes], Any]
    if base == "address":
        def read(word: bytes) -> Any:
            if any(word[:12]):
                raise ValueError("address padding")
            return "0x" + word[12:].hex()
    elif base == "bool":
        def read(word: bytes) -> Any:
            value = int.from_bytes(word, "big")
            if value > 1:
                raise ValueError("bool out of range")
            return value == 1
    elif base.startswith("bytes"):
        n = int(size)
        if not 1 <= n <= 32:
            return None

        def read(word: bytes) -> Any:
            if any(word[n:]):
                raise ValueError("bytes padding")
            return "0x" + word[:n].hex()
    else:
        width = int(bits or 256)
        if width % 8 or not 8 <= width <= 256:
            return None
        signed = base.startswith("int")

        def read(word: bytes) -> Any:
            value = int.from_bytes(word, "big", signed=signed)
            low, high = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
            if not low <= value <= high:
                raise ValueError("integer out of range")
            return str(value)

    words = 1
    for dim in re.findall(r"\[(\d+)\]", dims):  # T[2][3]: 3 arrays of 2, the innermost first
        inner, count, inner_words = read, int(dim), words
        if count < 1:
            return None

        def read(word: bytes, inner: Any = inner, count: int = count, inner_words: int = inner_words) -> Any:
            step = 32 * inner_words
            return [inner(word[i * step:(i + 1) * step]) for i in range(count)]
        words *= count
    return words, read


@dataclass(frozen=True)
class _FastEvent:
    """An event whose inputs are all static: its topics and data read word by word, into exactly
    what web3's decoding and `_jsonable` make of them, about thirty times faster (a block's
    hundreds of logs). Anything unexpected goes back to web3 (`decode` returns None)."""

    name: str
    topics: tuple[tuple[str, Callable[[bytes], Any]], ...]  # the indexed inputs, in order
    data: tuple[tuple[str, int, Callable[[bytes], Any]], ...]  # the others: name, words, reader
    order: tuple[str, ...]  # web3's order of the arguments: indexed first, then the data

    @classmethod
    def of(cls, entry: dict[str, Any]) -> _FastEvent | None:
        topics, data = [], []
        for item in entry["inputs"]:
            reader = _word_reader(item["type"])
            if reader is None or (item.get("indexed") and reader[0] != 1):
                return None
            if item.get("indexed"):
                topics.append((item["name"], reader[1]))
            else:
                data.append((item["name"], *reader))
        order = tuple(n for n, _r in topics) + tuple(n for n, _w, _r in data)
        return cls(entry["name"], tuple(topics), tuple(data), order)

    def decode(self, topics: list[bytes], data: bytes) -> dict[str, Any] | None:
        if len(topics) != len(self.topics) + 1 or len(data) != 32 * sum(w for _n, w, _r in self.data):
            return None
        try:
            values = {name: read(bytes(topic)) for (name, read), topic in zip(self.topics, topics[1:], strict=True)}
            at = 0
            for name, words, read in self.data:
                values[name] = read(data[at:at + 32 * words])
                at += 32 * words
        except ValueError:
            return None
        return {name: values[name] for name in self.order}


def _decoders(address: str, abi: list[dict[str, Any]]) -> dict[str, Any]:
    contract = Web3().eth.contract(address=Web3.to_checksum_address(address), abi=abi)
    decoders: dict[str, Any] = {}
    for entry in abi:
        if entry.get("type") == "event" and not entry.get("anonymous"):
            event = contract.events[entry["name"]]
            decoders[event.topic.lower()] = (event, {i["name"]: i["type"] for i in entry["inputs"]},
                                             _FastEvent.of(entry))
    return decoders


_decoders_cache: dict[tuple[str, int], tuple[list[dict[str, Any]], dict[str, Any]]] = {}


def _decoders_of(address: str, abi: list[dict[str, Any]]) -> dict[str, Any]:
    """`_decoders`, kept per address and ABI object (`load_abi` returns the same one each time):
    a following ingester reads a range every second, and building them is ~10 ms."""
    key = (address.lower(), id(abi))
    cached = _decoders_cache.get(key)
    if cached is None or cached[0] is not abi:  # a new list at a recycled id
        if len(_decoders_cache) >= 16:
            _decoders_cache.clear()
        cached = _decoders_cache[key] = (abi, _decoders(address, abi))
    return cached[1]


def _decode(decoder: Any, log: Any) -> tuple[str, dict[str, Any]]:
    """A log's event name and its arguments in JSON form (ints as decimal strings, addresses
    lower-case, bytes 0x-hex)."""
    event, types, fast = decoder
    if fast is not None:
        args = fast.decode(log["topics"], bytes(log["data"]))
        if args is not None:
            return fast.name, args
    decoded = event.process_log(log)
    return decoded["event"], {k: _jsonable(v, types[k]) for k, v in decoded["args"].items()}


def _lock_cursor(contract: str, start_block: int) -> ChainCursor:
    cursor = ChainCursor.objects.select_for_update().filter(contract=contract).first()
    if cursor is None:
        try:
            with transaction.atomic():
                ChainCursor.objects.create(contract=contract, block_number=start_block - 1)
        except IntegrityError:
            pass
        cursor = ChainCursor.objects.select_for_update().get(contract=contract)
    return cursor


def events_ingest(
    *, address: str, abi: list[dict[str, Any]], batch_blocks: int = BATCH_BLOCKS,
    max_batches: int = MAX_BATCHES_PER_RUN, confirmations: int | None = None, start_block: int = 0,
) -> IngestResult:
    """Store the contract's new logs, up to head - confirmations, at most `max_batches` ranges
    of `batch_blocks` blocks per call. Idempotent; concurrent calls serialize on the cursor.
    `start_block` (the deployment block) only matters for a contract's first run."""
    if batch_blocks < 1 or max_batches < 1:
        raise ValueError("batch_blocks and max_batches are positive")
    contract = address.lower()
    depth = settings.CONFIRMATIONS if confirmations is None else confirmations
    w3 = get_web3()
    decoders = _decoders_of(address, abi)
    result = IngestResult()
    for _ in range(max_batches):
        with transaction.atomic():
            cursor = _lock_cursor(contract, start_block)
            if cursor.block_hash:
                canonical = _block_hash(w3, cursor.block_number)
                if canonical != cursor.block_hash:
                    result.reorgs.append(_handle_reorg(w3, cursor, canonical, start_block).pk)
                    continue
            target = w3.eth.block_number - depth
            if cursor.block_number >= target:
                result.caught_up = True
                break
            first = cursor.block_number + 1
            last = min(first + batch_blocks - 1, target)
            last_hash = _block_hash(w3, last)
            logs = _get_logs(w3, address, first, last)
            if _block_hash(w3, last) != last_hash or last_hash is None:
                continue  # the range changed under us; read it again
            result.stored += _store_logs(contract, decoders, logs)
            cursor.block_number, cursor.block_hash = last, last_hash
            cursor.save(update_fields=["block_number", "block_hash", "updated_at"])
            result.from_block = first if result.from_block is None else result.from_block
            result.to_block = last
            result.caught_up = last >= target
        if result.caught_up:
            break
    return result


_INSERT_COLUMNS = ("contract", "name", "block_number", "block_hash", "tx_hash", "tx_index", "log_index",
                   "args")


@cache
def _insert_sql() -> str:
    """INSERT … SELECT FROM unnest(one array literal per column) ON CONFLICT DO NOTHING: a range's
    hundreds of logs in one statement whose text does not grow with them (the ORM's bulk_create
    quoted ~6 000 parameters into it on the client: 75 ms a block of 500), answering which rows
    were new."""
    qn = connection.ops.quote_name
    meta = ChainEvent._meta
    types = {f.column: f.db_type(connection) for f in meta.concrete_fields}
    arrays = ", ".join(f"%s::{'text' if c == 'args' else types[c]}[]" for c in _INSERT_COLUMNS)
    columns = ", ".join(qn(c) for c in _INSERT_COLUMNS)
    selected = ", ".join("args::jsonb" if c == "args" else qn(c) for c in _INSERT_COLUMNS)
    return (f"INSERT INTO {qn(meta.db_table)} ({columns}, state, handler, error, attempts, "  # noqa: S608
            f"was_processed, created_at) SELECT {selected}, %s, '', '', 0, false, %s "
            f"FROM unnest({arrays}) AS log({columns}) "
            f"ON CONFLICT (tx_hash, log_index) DO NOTHING RETURNING tx_hash, log_index")


def _store_logs(contract: str, decoders: dict[str, Any], logs: Iterable[Any]) -> int:
    rows: list[tuple[Any, ...]] = []  # in _INSERT_COLUMNS order
    for log in logs:
        if not log["topics"]:
            continue
        decoder = decoders.get(_hex(log["topics"][0]))
        if decoder is None:
            continue  # an event this ABI does not know (or anonymous)
        name, args = _decode(decoder, log)
        rows.append((contract, name, int(log["blockNumber"]), _hex(log["blockHash"]),
                     _hex(log["transactionHash"]), int(log["transactionIndex"]), int(log["logIndex"]),
                     json.dumps(args, separators=(",", ":"))))
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(), [EventState.NEW, timezone.now(),
                                       *(pg_array(column) for column in zip(*rows, strict=True))])
        stored = set(cursor.fetchall())
    known = [row for row in rows if (row[4], row[6]) not in stored]  # read before: seen again
    if known:
        existing = {
            (e.tx_hash, e.log_index): e
            for e in ChainEvent.objects.select_for_update().filter(tx_hash__in={row[4] for row in known})
        }
        for _c, _n, block_number, block_hash, tx_hash, tx_index, log_index, args in known:
            old = existing[(tx_hash, log_index)]
            if old.block_hash != block_hash:
                # The same log, re-mined in another block: a revived orphan keeps its processing
                # history (its handler already ran once), otherwise it is handled as new.
                if old.state == EventState.ORPHANED:
                    old.state = EventState.PROCESSED if old.was_processed else EventState.NEW
                old.block_number, old.block_hash = block_number, block_hash
                old.tx_index, old.args = tx_index, json.loads(args)
                old.save(update_fields=["state", "block_number", "block_hash", "tx_index", "args"])
    return len(stored)


def _handle_reorg(w3: Web3, cursor: ChainCursor, canonical: str | None, start_block: int) -> ChainReorg:
    """Rewind the cursor below the fork, orphan vanished events, record and alarm. The caller
    holds the cursor lock."""
    old_block, old_hash = cursor.block_number, cursor.block_hash
    floor = start_block - 1
    safe = max(old_block - REORG_REWIND_BLOCKS, floor)
    while safe > floor:  # deeper than the rewind? go back until stored events are canonical
        below = (ChainEvent.objects.filter(contract=cursor.contract, block_number__lte=safe)
                 .exclude(state=EventState.ORPHANED).order_by("-block_number").first())
        if below is None or _block_hash(w3, below.block_number) == below.block_hash:
            break
        safe = max(below.block_number - REORG_REWIND_BLOCKS, floor)
    hashes: dict[int, str | None] = {}
    orphaned = orphaned_processed = 0
    for event in (ChainEvent.objects.select_for_update()
                  .filter(contract=cursor.contract, block_number__gt=safe)
                  .exclude(state=EventState.ORPHANED)):
        if event.block_number not in hashes:
            hashes[event.block_number] = _block_hash(w3, event.block_number)
        if hashes[event.block_number] != event.block_hash:
            event.state = EventState.ORPHANED
            event.save(update_fields=["state"])
            orphaned += 1
            orphaned_processed += int(event.was_processed)
    cursor.block_number = safe
    cursor.block_hash = (_block_hash(w3, safe) or "") if safe > floor else ""
    cursor.save(update_fields=["block_number", "block_hash", "updated_at"])
    reorg = ChainReorg.objects.create(
        contract=cursor.contract, block_number=old_block, old_hash=old_hash,
        new_hash=canonical or "", rewound_to=safe, orphaned_events=orphaned,
        orphaned_processed_events=orphaned_processed,
    )
    alarm_raise(
        kind="reorg", key=cursor.contract,
        severity="critical" if orphaned_processed else "warning",
        message=(f"reorg below {old_block} on {cursor.contract}: block hash changed; rewound to "
                 f"{safe}; {orphaned} event(s) orphaned, {orphaned_processed} already processed"),
        detail={"reorg_id": reorg.pk, "block_number": old_block, "old_hash": old_hash,
                "new_hash": canonical, "rewound_to": safe, "orphaned": orphaned,
                "orphaned_processed": orphaned_processed},
    )
    return reorg


# --- dispatch ---------------------------------------------------------------------------------


@dataclass
class DispatchResult:
    processed: int = 0
    failed: int = 0
    ignored: int = 0

    @property
    def total(self) -> int:
        return self.processed + self.failed + self.ignored


# Events handled in one transaction (one durable commit for all of them): DISPATCH_CHUNK handled
# one by one (each holds its channel's lock until the commit), or up to DISPATCH_BATCH of names
# with a batch handler (a few statements for all of them: a block's 500 deposits in one
# transaction, not three).
DISPATCH_CHUNK = 20
DISPATCH_BATCH = DISPATCH_PER_PASS


def events_dispatch(*, limit: int = 500, now: datetime | None = None, batched: bool = True) -> DispatchResult:
    """Hand NEW events and FAILED events whose retry time has come to their handlers, in chain
    order. Events are locked and re-read, so concurrent dispatchers never run a handler twice.
    Up to DISPATCH_CHUNK events (DISPATCH_BATCH with a batch form) share a transaction. A run of consecutive events of one name whose
    handler has a batch form goes to it at once, in a savepoint; every other event (and every
    event of a run whose batch raised) goes to its handler alone, in a savepoint of its own: a
    handler that raises undoes only its own writes (its event is marked FAILED, the others
    commit). `batched=False`: every event alone (the reference the batch forms must equal).
    Under the ingester lock, so events are handled in chain order: nothing is done (an empty
    result) while another connection holds it."""
    with ingester_lock() as held:
        return _dispatch_due(limit, now or timezone.now(), batched) if held else DispatchResult()


def _dispatch_due(limit: int, now: datetime, batched: bool) -> DispatchResult:
    due = list(
        ChainEvent.objects.filter(state__in=[EventState.NEW, EventState.FAILED])
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .order_by("block_number", "log_index").values_list("id", "name")[:limit]
    )
    result = DispatchResult()
    for chunk in _chunks(due, batched):
        for outcome in _dispatch_chunk(chunk, now, batched):
            if outcome == EventState.PROCESSED:
                result.processed += 1
            elif outcome == EventState.FAILED:
                result.failed += 1
            elif outcome == EventState.IGNORED:
                result.ignored += 1
    return result


def _chunks(due: list[tuple[int, str]], batched: bool) -> Iterator[list[int]]:
    """The events' ids in chain order, cut into transactions: an event with a batch handler
    weighs 1, any other DISPATCH_BATCH // DISPATCH_CHUNK; a transaction weighs DISPATCH_BATCH."""
    chunk: list[int] = []
    weight = 0
    for pk, name in due:
        chunk.append(pk)
        weight += 1 if batched and name in _batch_handlers else DISPATCH_BATCH // DISPATCH_CHUNK
        if weight >= DISPATCH_BATCH:
            yield chunk
            chunk, weight = [], 0
    if chunk:
        yield chunk


def _dispatch_chunk(event_ids: list[int], now: datetime, batched: bool = True) -> list[str]:
    with transaction.atomic():
        events = list(ChainEvent.objects.select_for_update(skip_locked=True)
                      .filter(pk__in=event_ids, state__in=[EventState.NEW, EventState.FAILED])
                      .order_by("block_number", "log_index"))
        # done by someone else, orphaned, or being handled right now: not in `events`
        outcomes: list[str] = []
        start = 0
        while start < len(events):
            name = events[start].name
            end = start + 1
            while end < len(events) and events[end].name == name:
                end += 1
            run = events[start:end]
            batch = _batch_handlers.get(name) if batched and len(run) > 1 else None
            if batch is None or not _dispatch_batch(run, batch):
                outcomes += [_dispatch_one(event, now) for event in run]
            else:
                outcomes += [event.state for event in run]
            start = end
        return outcomes


def _dispatch_batch(events: list[ChainEvent], batch: BatchHandler) -> bool:
    """Run a batch handler on a run of events of one name and mark them processed in one
    statement (the caller holds their locks, inside a transaction). False, with nothing written,
    when it raised: the caller then hands the events to the handler one by one."""
    handler = _handlers.get(events[0].name)
    if handler is None:
        return False
    try:
        with transaction.atomic():  # a savepoint: a failing batch's writes are undone
            batch(events)
    except Exception:
        logger.info("batch handler for %d %s events failed; handling them one by one",
                    len(events), events[0].name, exc_info=True)
        return False
    at = timezone.now()
    name = _name_of(handler)
    ChainEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        state=EventState.PROCESSED, was_processed=True, error="", retry_at=None, processed_at=at,
        attempts=F("attempts") + 1, handler=name)
    for event in events:
        event.state, event.was_processed, event.error, event.retry_at = EventState.PROCESSED, True, "", None
        event.processed_at, event.attempts, event.handler = at, event.attempts + 1, name
    return True


def _dispatch_one(event: ChainEvent, now: datetime) -> str:
    """Run the event's handler (the caller holds the event's lock, inside a transaction)."""
    handler = _handlers.get(event.name)
    if handler is None:
        event.state = EventState.IGNORED
        event.save(update_fields=["state"])
        return event.state
    event.attempts += 1
    event.handler = _name_of(handler)
    try:
        with transaction.atomic():  # a savepoint: a failing handler's writes are undone
            handler(event)
    except Exception as exc:
        logger.exception("handler %s failed on event %s", event.handler, event.pk)
        delay = min(RETRY_BASE_SECONDS * 2 ** (event.attempts - 1), RETRY_MAX_SECONDS)
        event.state = EventState.FAILED
        event.error = f"{type(exc).__name__}: {exc}"[:4000]
        event.retry_at = now + timedelta(seconds=delay)
        event.save(update_fields=["state", "error", "retry_at", "attempts", "handler"])
        if event.attempts == ALARM_AFTER_FAILURES:
            alarm_raise(
                kind="event_handler", key=f"event:{event.pk}", severity="critical",
                message=f"{event.name} event {event.pk} failed {event.attempts} times: {event.error[:200]}",
                detail={"event_id": event.pk, "tx_hash": event.tx_hash, "log_index": event.log_index},
            )
        return event.state
    event.state = EventState.PROCESSED
    event.was_processed = True
    event.error = ""
    event.retry_at = None
    event.processed_at = timezone.now()
    event.save(update_fields=["state", "was_processed", "error", "retry_at", "processed_at",
                              "attempts", "handler"])
    return event.state


def events_redispatch(*, event_ids: Iterable[int]) -> int:
    """Put FAILED or IGNORED events back in line now (after a fix or a new handler)."""
    return ChainEvent.objects.filter(
        pk__in=list(event_ids), state__in=[EventState.FAILED, EventState.IGNORED]
    ).update(state=EventState.NEW, retry_at=None)


# --- the hub's contract -----------------------------------------------------------------------


def _deployment_block(address: str, key: str = "channel_manager", block_key: str = "block") -> int:
    """A contract's deployment block from CONTRACTS_FILE (written by deploy_contracts), where
    ingestion starts on a fresh database; 0 when unknown."""
    path = settings.CONTRACTS_FILE
    if path is None:
        return 0
    try:
        recorded = json.loads(path.read_text())
        entry = recorded.get(str(settings.CHAIN_ID), {})
        if str(entry.get(key, "")).lower() == address.lower():
            return int(entry.get(block_key, 0))
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    return 0


# the arguments naming the channel users an event concerns
USER_ARGS = ("user", "sender", "receiver", "recipient")


def event_users(args: Any) -> frozenset[str]:
    """The channel users an event's arguments name (empty: it names none, so it may concern any)."""
    if not isinstance(args, dict):
        return frozenset()
    return frozenset(str(args[k]).lower() for k in USER_ARGS if isinstance(args.get(k), str) and args[k])


@dataclass(frozen=True)
class WaitingEvent:
    """An event below the cursor still waiting for its handler (new, or failed and retrying)."""

    pk: int
    name: str
    block_number: int
    state: str
    error: str
    created_at: datetime
    users: frozenset[str]


def waiting_events(address: str) -> tuple[int | None, list[WaitingEvent]]:
    """The cursor of `address` and its events at or below it still waiting for their handler,
    in chain order. (None, []) before anything was ingested."""
    contract = address.lower()
    cursor = ChainCursor.objects.filter(contract=contract).values_list("block_number", flat=True).first()
    if cursor is None:
        return None, []
    rows = (ChainEvent.objects.filter(contract=contract, block_number__lte=cursor,
                                      state__in=[EventState.NEW, EventState.FAILED])
            .order_by("block_number", "log_index")
            .values_list("pk", "name", "block_number", "state", "error", "created_at", "args"))
    return cursor, [WaitingEvent(pk, name, block, state, error, created, event_users(args))
                    for pk, name, block, state, error, created, args in rows]


def ingested_head(address: str, *, user: str | None = None) -> int | None:
    """The newest block up to which every event of `address` is ingested and handled: the
    cursor, lowered below the first event still waiting for its handler (new or failed). None
    before anything was ingested.

    With `user`, only the events that may concern that user's channel count: those naming it,
    and those naming no user. A stuck handler of another channel's event does not hold it back."""
    contract = address.lower()
    if user is None:  # every waiting event counts: the first one's block is enough
        cursor = ChainCursor.objects.filter(contract=contract).values_list("block_number", flat=True).first()
        if cursor is None:
            return None
        first = (ChainEvent.objects.filter(contract=contract, block_number__lte=cursor,
                                           state__in=[EventState.NEW, EventState.FAILED])
                 .aggregate(first=Min("block_number"))["first"])
    else:
        cursor, waiting = waiting_events(contract)
        if cursor is None:
            return None
        user = user.lower()
        first = next((w.block_number for w in waiting if not w.users or user in w.users), None)
    head = cursor if first is None else min(cursor, first - 1)
    return head if head >= 0 else None


def ingested_head_time(address: str, *, user: str | None = None) -> int | None:
    """The timestamp of `ingested_head(address, user=user)`, or None before anything was ingested."""
    head = ingested_head(address, user=user)
    if head is None:
        return None
    return block_timestamp(head)


def block_timestamp(number: int) -> int:
    return int(get_web3().eth.get_block(number)["timestamp"])


def events_poll() -> IngestResult | None:
    """One pass: ingest the ChannelManager's and the Checkout's events (those configured), then
    dispatch until nothing is due. Returns the ChannelManager's ingest result; None, having done
    nothing, when another ingester holds the lock (it does the work)."""
    with ingester_lock() as held:
        if not held:
            return None
        result = None
        address = settings.CHANNEL_MANAGER_ADDRESS
        if address:
            result = events_ingest(address=address, abi=load_abi("ChannelManager"),
                                   start_block=_deployment_block(address))
        checkout = getattr(settings, "CHECKOUT_ADDRESS", None)
        if checkout:
            events_ingest(address=checkout, abi=load_abi("Checkout"),
                          start_block=_deployment_block(checkout, "checkout", "checkout_block"))
        # until nothing is due (or the run has taken long enough: the next one carries on), so
        # that a busy chain's events are handled as fast as they come, not 500 per interval
        deadline = time.monotonic() + DISPATCH_SECONDS_PER_RUN
        while (events_dispatch(limit=DISPATCH_PER_PASS).total == DISPATCH_PER_PASS
               and time.monotonic() < deadline):
            pass
        return result


def events_follow(*, sent: float, poll: float = POLL_SECONDS, limit: float = FOLLOW_SECONDS,
                  poll_max: float = POLL_MAX_SECONDS) -> bool:
    """One scheduled run (its message sent at wall-clock time `sent`): a pass of `events_poll`,
    then another each time the node's head moves (asked `poll` seconds after a pass, then after
    twice as long each time the head has not moved, up to `poll_max`), until the next run is
    ready to take over (or `limit` seconds after `sent`). So a block is handled within `poll_max`
    of its mining plus its handling time (within `poll` of it when blocks follow each other
    closely), not up to an interval later.

    One run at a time, handed over without a gap: the next run (its message comes about an
    interval later) takes the successor's lock and waits for the ingester lock; the running one
    sees it between two polls and ends. A third run finds the successor's lock taken and ends
    at once. A stale message (a busy worker ran it more than `limit` after it was sent) makes
    one pass at most, so a queue of them drains. False when it did nothing (the lock stayed
    taken). A pass with work finishes past `limit` (up to its own limit)."""
    until = min(sent + limit, time.time() + limit)  # a scheduler's clock far ahead: no longer
    if not _lock_take(INGESTER_LOCK):
        if not _lock_take(SUCCESSOR_LOCK):
            return False  # another run waits to take over already
        try:
            while not _lock_take(INGESTER_LOCK):
                if time.time() >= until:
                    return False
                time.sleep(poll)
        finally:
            _lock_release(SUCCESSOR_LOCK)
    try:
        w3 = get_web3()
        while True:
            head = _rpc(w3, "eth_blockNumber", [])  # read before the pass: a block mined during it is seen
            events_poll()
            wait = poll
            while True:
                if time.time() >= until or _successor_waiting():
                    return True
                time.sleep(wait)
                if _rpc(w3, "eth_blockNumber", []) != head:
                    break
                wait = min(wait * 2, max(poll, poll_max))
    finally:
        _lock_release(INGESTER_LOCK)


def _successor_waiting() -> bool:
    # (a run arriving in the instant this holds it finds it taken and ends: the one following
    # carries on, and the next message takes over)
    if _lock_take(SUCCESSOR_LOCK):
        _lock_release(SUCCESSOR_LOCK)
        return False
    return True


def _lock_take(key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        return bool(cursor.fetchone()[0])


def _lock_release(key: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    except DatabaseError:  # the connection broke (the lock went with it), or its transaction did
        logger.warning("the ingester lock %#x could not be released", key, exc_info=True)


@contextmanager
def ingester_lock() -> Iterator[bool]:
    """The ingester's lock for the block: True when held, False when another connection holds
    it (the caller leaves the work to that one). Re-entrant in one connection. A session lock,
    not a transaction's: the passes under it commit as they go, and it goes with the connection
    when the process dies."""
    held = _lock_take(INGESTER_LOCK)
    try:
        yield held
    finally:
        if held:
            _lock_release(INGESTER_LOCK)
