"""Inserting rows on the payment path without the ORM's per-call query compilation.

`rows_insert` stores unsaved model instances the way `Model.save()` would (each field's
`pre_save`, e.g. `auto_now_add`, then `get_db_prep_save`; foreign keys to objects saved after
they were assigned are resolved), in one INSERT … RETURNING statement whose text is built once per
model and row count. It sends no model signals: use it only for models nothing listens to
(checked by a test). On the purchase path the ORM's `create()` cost about 0.3 ms per row, most of
it building the query."""

from __future__ import annotations

import datetime
import functools
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model
from django.db.models.base import ModelState
from django.db.models.signals import post_init, post_save, pre_init, pre_save

FAST_INSERT_MODELS: set[type[Model]] = set()


def fast_insert(model: type[Model]) -> type[Model]:
    """Class decorator: the model may be written with `rows_insert` (so nothing may listen to its
    save signals; `assert_no_save_receivers` checks it)."""
    FAST_INSERT_MODELS.add(model)
    return model


def assert_no_save_receivers() -> None:
    """Nothing listens to the save or init signals of a @fast_insert model (`rows_insert` and
    `new_row` do not send them)."""
    for model in FAST_INSERT_MODELS:
        if any(signal.has_listeners(model) for signal in (pre_save, post_save, pre_init, post_init)):
            raise AssertionError(f"{model.__name__} has save or init signal receivers; "
                                 "rows_insert and new_row skip them")


@functools.cache
def _init_plan(model: type[Model]) -> tuple[tuple[str, str, bool, Field], ...]:
    return tuple((f.name, f.attname, bool(f.is_relation and f.many_to_one), f)
                 for f in model._meta.concrete_fields)


def new_row(model: type[Model], /, **values: Any) -> Any:
    """`model(**values)` for a @fast_insert model, without Model.__init__'s general path (5 against
    16 us for a ChannelUpdate; a purchase makes four rows): the same instance, its fields set
    from `values` by name (a foreign key through its descriptor, as __init__ does, or by its
    `_id`) or to their defaults. No init signals (nothing may listen to them:
    `assert_no_save_receivers`)."""
    if model not in FAST_INSERT_MODELS:
        raise TypeError(f"{model.__name__} is not marked @fast_insert")
    obj = model.__new__(model)
    obj._state = ModelState()
    attributes = obj.__dict__
    for name, attname, related, field in _init_plan(model):
        if related and name in values:
            setattr(obj, name, values.pop(name))
        elif attname in values:
            attributes[attname] = values.pop(attname)
        else:
            attributes[attname] = field.get_default()
    if values:
        raise TypeError(f"{model.__name__}() got unexpected keyword arguments: {', '.join(sorted(values))}")
    return obj


@functools.cache
def _fields(model: type[Model], keyed: bool = False) -> tuple[Field, ...]:
    """The columns an INSERT writes: all but those the database makes, unless `keyed` (the
    instances carry their primary keys, taken from the sequence beforehand: `rows_reserve_keys`)."""
    return tuple(f for f in model._meta.concrete_fields if keyed or not f.db_returning)


@functools.lru_cache(maxsize=512)  # (model, row count): a batch of any size up to a few hundred
def _sql(model: type[Model], count: int, keyed: bool = False) -> str:
    qn = connection.ops.quote_name
    fields = _fields(model, keyed)
    columns = ", ".join(qn(str(f.column)) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (f"INSERT INTO {qn(model._meta.db_table)} ({columns}) "  # noqa: S608 - model metadata only
           f"VALUES {', '.join([row] * count)}")
    if _returns_pk(model) and not keyed:
        sql += f" RETURNING {qn(str(model._meta.pk.column))}"  # type: ignore[union-attr]
    return sql


UNNEST_FROM = 4  # rows of one model from which an INSERT sends one array per column


@functools.cache
def _unnest_sql(model: type[Model], keyed: bool) -> str:
    """INSERT … SELECT FROM unnest(one array per column): the statement's text and its number of
    parameters do not grow with the rows (psycopg parses a multi-row VALUES of a block's hundreds
    of rows, thousands of placeholders, on every call)."""
    qn = connection.ops.quote_name
    fields = _fields(model, keyed)
    columns = ", ".join(qn(str(f.column)) for f in fields)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    return f"INSERT INTO {qn(model._meta.db_table)} ({columns}) SELECT * FROM unnest({arrays})"  # noqa: S608


def _unnest(model: type[Model], count: int, keyed: bool, params: list[Any]) -> tuple[str, list[Any]]:
    """`_sql`'s INSERT for `count` rows of `params` (row after row), as one array per column."""
    width = len(_fields(model, keyed))
    return _unnest_sql(model, keyed), [params[column::width] for column in range(width)]


def _keyed(objs: Sequence[Model]) -> bool:
    """Instances of a model whose keys the database makes, each carrying its key already."""
    return _returns_pk(type(objs[0])) and all(obj.pk is not None for obj in objs)


def key_sequence_sql(model: type[Model]) -> str:
    """SQL for the next value of `model`'s primary key sequence (model metadata only)."""
    table = connection.ops.quote_name(model._meta.db_table)
    column = str(model._meta.pk.column)  # type: ignore[union-attr]
    return f"nextval(pg_get_serial_sequence('{table}', '{column}'))"


def _returns_pk(model: type[Model]) -> bool:
    """Whether the database makes the primary key (an auto field); else the instance has it and
    the INSERT needs no answer, so it can wait for the next statement (`rows_insert_later`)."""
    return model._meta.pk is not None and bool(model._meta.pk.db_returning)


def _prepare(objs: Sequence[Model], keyed: bool = False) -> tuple[type[Model], list[Any]]:
    model = type(objs[0])
    if model not in FAST_INSERT_MODELS:
        raise TypeError(f"{model.__name__} is not marked @fast_insert")
    # the connection itself, not the `connection` proxy: each field's conversion reads it a few
    # times, and every read through the proxy is a thread-local lookup (a tenth of the
    # ingester's samples for a block's 500 channel updates, py-spy, bench/ingest_bench.py)
    db = connections[DEFAULT_DB_ALIAS]
    params: list[Any] = []
    columns = _columns_prep(model, keyed)
    for obj in objs:
        if type(obj) is not model or not obj._state.adding:
            raise TypeError("rows_insert takes new instances of one model")
        obj._prepare_related_fields_for_save(operation_name="save")  # type: ignore[attr-defined]
        values = obj.__dict__
        for field, attname, fast in columns:
            value = fast(values[attname]) if fast is not None and attname in values else NotImplemented
            if value is NotImplemented:  # the field's own conversion
                value = field.get_db_prep_save(field.pre_save(obj, True), db)
            params.append(value)
    return model, params


def _same_str(value: Any) -> Any:
    return value if value is None or type(value) is str else NotImplemented


def _same_bool(value: Any) -> Any:
    return value if value is None or type(value) is bool else NotImplemented


def _fast_prep(field: Field) -> Any:
    """What `get_db_prep_save(pre_save(obj, True))` makes of the instance's value, for the
    common case, computed without the field's call chain (about 80 fields a purchase: most of
    `_prepare`'s time); NotImplemented from it, or None here, means the field's own methods run.
    Only exact built-in classes with no `pre_save` of their own, or a field class offering
    `fast_prep` (hub.chain.fields.AmountField)."""
    from django.db.models import fields as f
    from django.db.models.fields.related import ForeignKey

    custom = getattr(type(field), "fast_prep", None)
    if custom is not None:
        return custom
    kind = type(field)
    if kind is ForeignKey:
        return _fast_prep(field.target_field)
    if kind in (f.CharField, f.TextField):
        return _same_str
    if kind in (f.IntegerField, f.BigIntegerField, f.SmallIntegerField, f.PositiveIntegerField,
                f.PositiveBigIntegerField, f.PositiveSmallIntegerField, f.AutoField, f.BigAutoField,
                f.SmallAutoField):
        # as the backend adapts them (psycopg's Int2/4/8: a prepared statement keeps its types)
        wrap = getattr(connection.ops, "integerfield_type_map", {}).get(field.get_internal_type())
        if wrap is None:
            return None

        def as_int(value: Any) -> Any:
            return value if value is None else wrap(value) if type(value) is int else NotImplemented
        return as_int
    if kind is f.BooleanField:
        return _same_bool
    return None


@functools.cache
def _columns_prep(model: type[Model], keyed: bool) -> tuple[tuple[Field, str, Any], ...]:
    return tuple((field, field.attname, _fast_prep(field)) for field in _fields(model, keyed))


def rows_insert(objs: Sequence[Model]) -> None:
    """INSERT unsaved instances of one model in one statement and set their primary keys (with
    the inserts waiting from `rows_insert_later` in the same statement)."""
    if not objs:
        return
    keyed = _keyed(objs)
    model, params = _prepare(objs, keyed)
    sql, params = with_waiting_inserts(_sql(model, len(objs), keyed), params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall() if _returns_pk(model) and not keyed else [(obj.pk,) for obj in objs]
    for obj, (key,) in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = connection.alias


# --- Statements prepared on the server ----------------------------------------------------------
# Django's psycopg cursors bind parameters on the client: each statement reaches PostgreSQL as
# new text, parsed and planned again, and the driver quotes every parameter into it. The payment
# path's statements have the same text every time (the lock, the one write), so they go through a
# cursor that binds on the server: psycopg prepares a statement after it has run a few times
# (its prepare_threshold) and then sends only the parameters.


PREPARE_THRESHOLD = 1  # runs of a statement's text before psycopg prepares it


@functools.cache
def _prepared_cursor_class() -> type:
    """ServerBindingCursor whose statements' texts are converted once (placeholders to $n, a
    regular-expression pass in Python): psycopg remembers the conversion only for texts under
    4 KB with at most 50 parameters, and a purchase's one write is longer, so converting it again
    on every run was a sixth of a web process's CPU (py-spy, bench/payments_bench.py)."""
    from django.db.backends.postgresql.base import ServerBindingCursor
    from psycopg import _queries

    converted = functools.lru_cache(maxsize=64)(_queries._query2pg_nocache)

    class HotQuery(_queries.PostgresQuery):
        __slots__ = ()

        def convert(self, query: Any, vars: Any) -> None:
            if vars is None or not isinstance(query, str | bytes):
                super().convert(query, vars)
                return
            query = self._ensure_bytes(query)
            self.query, self._want_formats, self._order, self._parts = converted(
                query, self._tx.encoding)
            self.dump(vars)

    class PreparedCursor(ServerBindingCursor):  # type: ignore[misc, valid-type]
        _query_cls = HotQuery

    return PreparedCursor


def prepared_cursor() -> Any:
    """A Django cursor (the same wrapper) over a psycopg cursor that binds
    parameters on the server; a plain `connection.cursor()` on other databases, and while queries
    are logged (DEBUG, a test's CaptureQueriesContext: Django's log reads the text the client
    bound, which a server-bound statement does not have)."""
    db = connections[DEFAULT_DB_ALIAS]  # one thread-local lookup, not one per attribute (`_prepare`)
    if db.vendor != "postgresql" or db.queries_logged:
        return db.cursor()
    from django.db.backends.postgresql import base

    if not base.is_psycopg3:  # pragma: no cover - psycopg 2 binds on the client only
        return db.cursor()
    from psycopg.types.datetime import TimestamptzLoader
    db.close_if_health_check_failed()
    db.ensure_connection()
    with db.wrap_database_errors:
        raw = db.connection
        if raw.prepare_threshold is None:
            # Django leaves it off (None): only this cursor prepares (its client-binding cursors
            # never do), from a statement's second run on
            raw.prepare_threshold = PREPARE_THRESHOLD
        cursor = _prepared_cursor_class()(raw)
        if db.timezone is datetime.UTC and raw.info.parameter_status("TimeZone") == "UTC":
            # psycopg's own loader, in C when psycopg's binary package is there (0.16 against
            # 2.9 us a value), makes exactly what Django's Python loader makes here: an aware
            # datetime in datetime.timezone.utc, which psycopg uses for a UTC session. The
            # purchase's read has about a dozen timestamps.
            cursor.adapters.register_loader(base.TIMESTAMPTZ_OID, TimestamptzLoader)
        else:  # as Django's create_cursor does
            tzloader = raw.adapters.get_loader(base.TIMESTAMPTZ_OID, base.Format.TEXT)
            if db.timezone != tzloader.timezone:
                base.register_tzloader(db.timezone, cursor)
        return db._prepare_cursor(cursor)


# --- Array parameters as literals ----------------------------------------------------------
# psycopg dumps a Python list parameter element by element in Python (finding a dumper for the
# element type, then each element): on the purchase path, whose statements pass a dozen lists,
# that was ~9% of a web process's samples (py-spy, bench/payments_bench.py). A statement that
# casts its parameter (`%s::bigint[]`) can take the array as one string in PostgreSQL's array
# literal syntax instead: psycopg sends a str as text of unknown type, which the cast parses.


def _array_element(value: Any) -> str:
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, str):  # quoted: a comma, brace, space or the word NULL stays text
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise TypeError(f"pg_array takes int, str, UUID or None, not {type(value).__name__}")


def pg_array(values: Iterable[Any]) -> str:
    """`values` (ints, strs, UUIDs or None) as a PostgreSQL array literal, for a parameter that
    the statement casts to an array type (`%s::varchar[]`)."""
    return "{" + ",".join(map(_array_element, values)) + "}"


# --- Inserts that wait for the next statement --------------------------------------------------
# A row whose primary key the instance already has needs no answer from the database, so inside
# `rows_waiting()` its INSERT is sent as a data-modifying CTE of the next statement that
# `rows_insert` (or a caller of `with_waiting_inserts`) sends, or alone when the block ends: one
# round trip fewer. Nothing may read such a row before then (foreign keys to it are checked at
# commit: Django's are deferrable).

_waiting = threading.local()


@contextmanager
def rows_waiting() -> Iterator[None]:
    """Inside one transaction: let `rows_insert_later` hold inserts for the next statement.
    The block's end sends what still waits; an exception drops it (the transaction is rolled
    back). Nested blocks join the outer one."""
    if getattr(_waiting, "inserts", None) is not None:
        yield
        return
    _waiting.inserts = []
    try:
        yield
        rows_send_waiting()
    finally:
        _waiting.inserts = None


def rows_send_waiting() -> None:
    """Send the inserts waiting in `rows_waiting()` now (before a query that reads them)."""
    if getattr(_waiting, "inserts", None):
        sql, params = with_waiting_inserts("SELECT 1", [])
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def rows_reserve_keys(model: type[Model], count: int) -> list[int]:
    """`count` primary keys for new `model` rows, taken from its sequence in one statement (in
    ascending order), for instances inserted with `rows_insert_later`."""
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {key_sequence_sql(model)} FROM generate_series(1, %s)", [count])  # noqa: S608
        return sorted(key for (key,) in cursor.fetchall())


def rows_insert_later(objs: Sequence[Model]) -> None:
    """`rows_insert` for instances whose primary keys are set (a key of their own, or one
    reserved from the model's sequence), sent with the next statement when inside
    `rows_waiting()` (else now)."""
    waiting = getattr(_waiting, "inserts", None)
    if not objs:
        return
    keyed = _keyed(objs)
    if waiting is None or (_returns_pk(type(objs[0])) and not keyed):
        rows_insert(objs)
        return
    model, params = _prepare(objs, keyed)
    waiting.append((model, keyed, len(objs), params))
    for obj in objs:
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS  # what `connection.alias` is, without its lookup


def with_waiting_inserts(sql: str, params: list[Any]) -> tuple[str, list[Any]]:
    """`sql` (an INSERT, UPDATE or SELECT, possibly starting with its own WITH) preceded by the
    inserts waiting in `rows_waiting()`, which are then sent; unchanged when none wait."""
    waiting = getattr(_waiting, "inserts", None)
    if not waiting:
        return sql, params
    _waiting.inserts = []
    # the rows of one model go in one INSERT (a block's hundreds of channel updates: one
    # multi-row VALUES, not hundreds of CTEs); the order of the CTEs does not matter, they all
    # run on the statement's snapshot
    merged: dict[tuple[type[Model], bool], tuple[int, list[Any]]] = {}
    for model, keyed, count, insert_params in waiting:
        total, merged_params = merged.setdefault((model, keyed), (0, []))
        merged_params.extend(insert_params)
        merged[(model, keyed)] = (total + count, merged_params)
    inserts = [_unnest(model, count, keyed, insert_params) if count >= UNNEST_FROM
               else (_sql(model, count, keyed), insert_params)
               for (model, keyed), (count, insert_params) in merged.items()]
    ctes = ", ".join(f"waiting_{n} AS ({insert})" for n, (insert, _p) in enumerate(inserts))
    before = [p for _insert, insert_params in inserts for p in insert_params]
    if sql.startswith("WITH "):
        return f"WITH {ctes}, {sql[5:]}", [*before, *params]
    return f"WITH {ctes} {sql}", [*before, *params]
