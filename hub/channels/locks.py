"""Locking channel rows, and writing their heads back.

Every write to a channel starts by locking its row. `channels_lock` does it in one SQL statement
that locks the rows (lowest id first, so two writers that touch the same channels cannot
deadlock), loads each channel's latest update and tells whether an unsigned proposal is open.
It is the first statement of every payment, so it is written once in SQL rather than composed
by the ORM per call: the ORM's query compilation cost more than the query itself (2.2 ms against
0.8 ms for lock and commit, measured on the purchase path)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection
from django.db.models import Model
from django.db.models.base import ModelState
from django.utils import timezone

from hub.chain.fields import MAX_AMOUNT, AmountField
from hub.channels.models import Channel, ChannelUpdate, ProposedUpdate
from hub.ledger.services import Entry, ledger_insert_sql
from ops.rows import key_sequence_sql, pg_array, prepared_cursor, with_waiting_inserts

# The SQL below is built from model metadata (table and column names) only; every value is a
# query parameter.

Converter = Callable[[Any, Any, Any], Any]


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns(model: type[Model], alias: str) -> str:
    return ", ".join(f"{alias}.{connection.ops.quote_name(str(f.column))}"
                     for f in model._meta.concrete_fields)


@functools.cache
def _converters(model: type[Model]) -> tuple[tuple[Converter, ...], ...]:
    """Per concrete field, what the ORM applies to a value read from the database."""
    return tuple(tuple(f.get_db_converters(connection)) for f in model._meta.concrete_fields)


def _amount_from_db(value: Any) -> int:
    """An amount column's value (NUMERIC(78, 0): a whole number by its type) as the int the
    model holds (AmountField converts it twice on the ORM's way: reading, then assigning)."""
    amount = int(value)
    if amount < 0 or amount > MAX_AMOUNT:
        raise ValueError(f"amount out of range: {amount}")
    return amount


@functools.cache
def _loaders(model: type[Model]) -> tuple[Callable[[Any], Any] | None, ...]:
    """Per concrete field, what turns the database's value into the attribute's (None: as is)."""
    def chain(converters: tuple[Converter, ...]) -> Callable[[Any], Any]:
        def load(value: Any) -> Any:
            for convert in converters:
                value = convert(value, None, connection)
            return value
        return load

    return tuple(_amount_from_db if isinstance(f, AmountField) else chain(converters) if converters else None
                 for f, converters in zip(model._meta.concrete_fields, _converters(model), strict=True))


def _instance(model: type[Model], values: Sequence[Any]) -> Any:
    """What `model.from_db` makes of a row, without Model.__init__'s per-field work (the lock
    builds four instances per payment: this was a fifth of a purchase's Python time). Models
    loaded here have no init signal receivers (checked by a test)."""
    obj = model.__new__(model)
    obj._state = ModelState()
    obj._state.adding = False
    obj._state.db = DEFAULT_DB_ALIAS  # the connection's alias (`prepared_cursor`), without a lookup
    attributes = obj.__dict__
    for name, value, load in zip(_attnames(model), values, _loaders(model), strict=True):
        attributes[name] = load(value) if load is not None and value is not None else value
    return obj


@functools.cache
def _attnames(model: type[Model]) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields)


@functools.cache
def _read_sql(also: tuple[str, ...] = (), reserve: tuple[type[Model], ...] = ()) -> str:
    user = connection.ops.quote_name("user")
    extra = "".join(f", ({expression})" for expression in also)
    sql = (
        f"SELECT {_columns(Channel, 'c')}, {_columns(ChannelUpdate, 'u')}{extra}, "  # noqa: S608
        f"EXISTS (SELECT 1 FROM {_table(ProposedUpdate)} p WHERE p.channel_id = c.id "
        f"AND p.status = %s) "
        f"FROM {_table(Channel)} c LEFT JOIN {_table(ChannelUpdate)} u ON u.id = c.latest_update_id "
        f"WHERE c.contract = %s AND c.{user} = ANY(%s::varchar[]) ORDER BY c.id"
    )
    if not reserve:
        return sql
    # Keys are taken from the sequences once the channel is locked (`_lock_only_sql` ran first):
    # whoever writes a channel next takes its keys after this transaction ends, so a channel's
    # updates keep ascending ids.
    keys = "".join(
        f", ARRAY(SELECT {key_sequence_sql(model)} FROM generate_series(1, coalesce(("  # noqa: S608
        "SELECT k.n FROM unnest(%s::varchar[], %s::int[]) AS k(u, n) WHERE k.u = l.lock_user), 0)))"
        for model in reserve)
    return f"SELECT l.*{keys} FROM (SELECT c.{user} AS lock_user, {sql[len('SELECT '):]}) l"  # noqa: S608


@functools.cache
def _lock_only_sql() -> str:
    """The lock. It also sets `plan_cache_mode` to `force_generic_plan` for the rest of the
    transaction, so that the read after it, prepared, runs its cached plan: left to choose,
    PostgreSQL planned the read (a dozen subqueries) again on nearly every run, 0.8 ms of its CPU
    a payment, more than running it (pg_stat_statements under bench/payments_bench.py: 4,869
    plans in 5,454 runs). On a hub of any size the generic plan finds the rows through the same
    indexes (tests/hub/test_channel_locks.py). The price: a plan cached while the tables were
    small runs slower as they grow (1.0 ms a run against 0.4 ms in the benchmark, whose tables
    grow from empty), until the next ANALYZE of a table invalidates it; it is still cheaper than
    planning every time (PostgreSQL CPU a payment 2.12 against 2.46 ms side by side). Only
    statements prepared on the server (`ops.rows.prepared_cursor`) have cached plans."""
    user = connection.ops.quote_name("user")
    return (f"SELECT c.id, set_config('plan_cache_mode', 'force_generic_plan', true) "  # noqa: S608
            f"FROM {_table(Channel)} c WHERE c.contract = %s "
            f"AND c.{user} = ANY(%s::varchar[]) ORDER BY c.id FOR UPDATE")


@functools.cache
def _create_sql() -> str:
    user = connection.ops.quote_name("user")
    return (
        f"INSERT INTO {_table(Channel)} (contract, {user}, status, push_sequence, created_at, "  # noqa: S608
        f"updated_at) SELECT %s, u, %s, 0, %s, %s FROM unnest(%s::varchar[]) AS u "
        f"ON CONFLICT (contract, {user}) DO NOTHING"
    )


@functools.cache
def _heads_sql() -> str:
    return (
        f"UPDATE {_table(Channel)} AS c SET latest_update_id = v.latest, "  # noqa: S608
        "push_sequence = v.seq, updated_at = %s "
        "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, latest, seq) "
        "WHERE c.id = v.id"
    )


def _select_locked(contract: str, users: list[str], also: tuple[str, ...],
                   reserve: Sequence[tuple[type[Model], Mapping[str, int]]]) -> dict[str, Channel]:
    skip = 1 if reserve else 0  # the outer query's lock_user
    width = skip + len(Channel._meta.concrete_fields)
    head_end = width + len(ChannelUpdate._meta.concrete_fields)
    tail = len(reserve)
    params: list[Any] = []
    for _model, counts in reserve:
        params += [pg_array(counts), pg_array([int(n) for n in counts.values()])]
    locked: dict[str, Channel] = {}
    sql = _read_sql(also, tuple(model for model, _c in reserve))
    params += [ProposedUpdate.Status.OPEN.value, contract, pg_array(users)]
    # Lock, then read: the read is a statement of its own so that its snapshot is taken once the
    # locks are held: a lock that waited for another writer then still reads that writer's head,
    # held payments and keys (one statement would have read them as they were before the wait,
    # and the purchase would have read the head again, holding the other channel's lock
    # meanwhile: the convoy of bench/payments_bench.py's contended run). Two round trips, both
    # prepared on the server. Measured side by side (bench/payments_bench.py --baseline, CPU per
    # payment): both in one query text cost PostgreSQL ~0.25 ms more (it plans the read, a
    # dozen subqueries, every time: 0.6-0.9 ms in EXPLAIN ANALYZE); psycopg's pipeline mode cost
    # the web process more than the second round trip does.
    with prepared_cursor() as cursor:
        cursor.execute(_lock_only_sql(), [contract, pg_array(users)])
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for row in rows:
        channel: Channel = _instance(Channel, row[skip:width])
        # The read follows the lock, so the joined update is the channel's head. Should it ever
        # not be (the read's snapshot predating the lock), it is left unset and `channel_state`
        # reads the head again; the `also` values are kept only with it (None otherwise: the
        # caller reads again).
        fresh = channel.latest_update_id is not None and row[width] == channel.latest_update_id
        if fresh:
            channel.latest_update = _instance(ChannelUpdate, row[width:head_end])
        channel.lock_also = (tuple(row[head_end:-1 - tail])  # type: ignore[attr-defined]
                             if fresh or channel.latest_update_id is None else None)
        channel.has_open_proposal = bool(row[-1 - tail])  # type: ignore[attr-defined]
        channel.reserved_keys = {  # type: ignore[attr-defined]
            model: list(keys) for (model, _c), keys in zip(reserve, row[len(row) - tail:], strict=True)}
        locked[channel.user] = channel
    return locked


def channels_lock(contract: str, users: Iterable[str], *, create: bool = True,
                  also: tuple[str, ...] = (),
                  reserve: Sequence[tuple[type[Model], Mapping[str, int]]] = ()) -> dict[str, Channel]:
    """Lock the channels of `users` in `contract` for the current transaction (lowest id first),
    with their latest update loaded and `has_open_proposal` set. Missing channels are created
    (an empty channel has no state yet), or left out of the result when `create` is false.

    `also`: SQL expressions over the channel row `c` (model metadata and constants only, no
    values), read in the same statement; each channel's `lock_also` holds their values, or None
    when they may predate the lock (the lock waited for another writer: read them again).
    `reserve`: (model, {user: n}): n primary keys of `model` taken from its sequence for each
    user's channel once it is locked, in `reserved_keys[model]` (rows inserted with them need no
    answer from the database: ops/rows.py)."""
    wanted = sorted({u.lower() for u in users})
    reserve = [(model, {u.lower(): n for u, n in counts.items() if n}) for model, counts in reserve]
    locked = _select_locked(contract, wanted, also, reserve)
    missing = [u for u in wanted if u not in locked]
    if not missing or not create:
        return locked
    now = timezone.now()
    with connection.cursor() as cursor:  # concurrent creators: ON CONFLICT keeps one row
        cursor.execute(_create_sql(), [contract, Channel.Status.OPEN.value, now, now, missing])
    # Lock again, all of them in id order (locks already held are simply kept).
    return _select_locked(contract, wanted, also, reserve)


def channel_heads_write(channels: Iterable[Channel], ledger_rows: list[Entry] | None = None) -> None:
    """Store each channel's latest update and push sequence (one statement for all of them), and
    with `ledger_rows`, the ledger postings in the same statement (a purchase's last write before
    its commit: one round trip instead of two)."""
    rows = list(channels)
    if not rows:
        if ledger_rows:
            with connection.cursor() as cursor:
                cursor.execute(*with_waiting_inserts(*ledger_insert_sql(ledger_rows)))
        return
    now = timezone.now()
    for channel in rows:
        channel.updated_at = now
    sql, params = _heads_sql(), [now, pg_array([c.pk for c in rows]),
                                 pg_array([c.latest_update_id for c in rows]),
                                 pg_array([c.push_sequence for c in rows])]
    if ledger_rows:
        insert, insert_params = ledger_insert_sql(ledger_rows)
        sql, params = f"WITH ledger AS ({insert}) {sql}", [*insert_params, *params]
    with prepared_cursor() as cursor:  # a purchase's one write: the same text every time
        cursor.execute(*with_waiting_inserts(sql, params))
