"""The payment path's hand-written SQL: channel locks, channel heads, ledger rows, fast inserts.
Each must give what the ORM would have given."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from hub.channels.locks import _read_sql, channel_heads_write, channels_lock
from hub.channels.models import Channel, ChannelUpdate, ProposedUpdate
from hub.ledger.models import LedgerEntry
from hub.ledger.services import account_balance, ledger_batch, post
from hub.purchases.models import Payment, Purchase
from ops.rows import (
    FAST_INSERT_MODELS,
    _columns_prep,
    _fields,
    _prepare,
    assert_no_save_receivers,
    rows_insert,
)

CONTRACT = "0x" + "cc" * 20
ALICE, BOB, CAROL = ("0x" + c * 40 for c in "abc")


def update_for(channel: Channel, tx: int, **fields: object) -> ChannelUpdate:
    row = ChannelUpdate(channel=channel, reason="Payment", args={"recipient": "hub", "n": tx},
                        originator=channel.user, recipient=channel.user, balance_token_user=10**30 + tx,
                        tx_count_global=tx, tx_count_chain=1, thread_root="0x" + "00" * 32,
                        state_hash="0x" + "11" * 32, sig_hub="0x" + "22" * 65, **fields)
    rows_insert([row])
    return row


@pytest.mark.django_db(transaction=True)
def test_lock_creates_missing_channels_once_and_loads_heads_as_the_orm_would() -> None:
    with transaction.atomic():
        locked = channels_lock(CONTRACT, [BOB.upper().replace("0X", "0x"), ALICE])
    assert sorted(locked) == [ALICE, BOB]
    assert Channel.objects.filter(contract=CONTRACT).count() == 2
    alice = locked[ALICE]
    row = update_for(alice, 1)
    alice.latest_update = row
    alice.push_sequence = 7
    channel_heads_write([alice])
    ProposedUpdate.objects.create(channel=alice, reason="Exchange", args={}, tx_count_global=2, state={},
                                  expires_at=timezone.now() + timedelta(minutes=5))
    with transaction.atomic():
        again = channels_lock(CONTRACT, [ALICE, BOB, CAROL], create=False)
    assert sorted(again) == [ALICE, BOB]  # create=False leaves carol out
    orm = Channel.objects.select_related("latest_update").get(pk=alice.pk)
    got = again[ALICE]
    assert [getattr(got, f.attname) for f in Channel._meta.concrete_fields] == \
        [getattr(orm, f.attname) for f in Channel._meta.concrete_fields]
    assert got.latest_update is not None and orm.latest_update is not None
    assert [getattr(got.latest_update, f.attname) for f in ChannelUpdate._meta.concrete_fields] == \
        [getattr(orm.latest_update, f.attname) for f in ChannelUpdate._meta.concrete_fields]
    assert got.latest_update.args == {"recipient": "hub", "n": 1}
    assert got.latest_update.balance_token_user == 10**30 + 1 and got.push_sequence == 7
    # built without Model.__init__ (hub/channels/locks.py: _instance): the same types, a saved
    # instance's state, and no init signal receivers it would skip
    assert [type(getattr(got.latest_update, f.attname)) for f in ChannelUpdate._meta.concrete_fields] == \
        [type(getattr(orm.latest_update, f.attname)) for f in ChannelUpdate._meta.concrete_fields]
    assert type(got.latest_update.balance_wei_hub) is int
    assert (got._state.adding, got._state.db, got.latest_update._state.adding) == (False, "default", False)
    for model in (Channel, ChannelUpdate):
        assert not pre_init.has_listeners(model) and not post_init.has_listeners(model)
    assert got.has_open_proposal is True  # type: ignore[attr-defined]
    assert again[BOB].has_open_proposal is False  # type: ignore[attr-defined]
    assert again[BOB].latest_update_id is None


@pytest.mark.django_db(transaction=True)
def test_a_lock_that_waited_reads_the_head_the_writer_committed() -> None:
    """A lock that waits for another writer returns the head that writer committed, never the one
    from before the wait (which would be saved back or used as the state), and needs no query of
    its own for it."""
    with transaction.atomic():
        alice = channels_lock(CONTRACT, [ALICE])[ALICE]
        first = update_for(alice, 1)
        alice.latest_update = first
        channel_heads_write([alice])
    seen: dict[str, object] = {}
    holding = threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                channel = channels_lock(CONTRACT, [ALICE])[ALICE]
                holding.set()
                time.sleep(0.5)
                channel.latest_update = update_for(channel, 2)
                channel_heads_write([channel])
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    holding.wait(5)
    with transaction.atomic():
        waited = channels_lock(CONTRACT, [ALICE])[ALICE]  # blocks until the writer commits
        seen["head"] = waited.latest_update_id
        seen["cached"] = waited._state.fields_cache.get("latest_update")
        waited.push_sequence += 1
        channel_heads_write([waited])
    thread.join()
    second = ChannelUpdate.objects.get(channel__user=ALICE, tx_count_global=2)
    assert seen["head"] == second.pk
    # the read follows the lock (hub/channels/locks.py: two statements, one round trip), so the
    # head the writer committed during the wait comes with the lock: no second read of it
    assert getattr(seen["cached"], "pk", None) == second.pk
    assert Channel.objects.get(user=ALICE).latest_update_id == second.pk


@pytest.mark.django_db(transaction=True)
def test_ledger_rows_are_exact_and_balanced() -> None:
    big = 10**77 - 1
    with transaction.atomic(), ledger_batch():
        post([("a", "token", big), ("b", "token", -big)], memo="m" * 500)
        post([("a", "wei", 0), ("a", "wei", 5), ("c", "wei", -5)])
    assert account_balance("a", "token") == big and account_balance("b", "token") == -big
    assert account_balance("a", "wei") == 5 and LedgerEntry.objects.count() == 4
    assert {len(m) for m in LedgerEntry.objects.values_list("memo", flat=True)} <= {0, 200}
    with pytest.raises(ValueError, match="unbalanced"):
        post([("a", "wei", 1)])
    with pytest.raises(ValueError, match="bad ledger entry"):
        post([("a", "eur", 1), ("b", "eur", -1)])


@pytest.mark.django_db(transaction=True)
def test_fast_inserts_match_save_and_nothing_listens_to_their_signals() -> None:
    assert {Purchase, Payment, ChannelUpdate} <= FAST_INSERT_MODELS
    assert_no_save_receivers()
    channel = channels_lock(CONTRACT, [ALICE])[ALICE]
    update = ChannelUpdate(channel=channel, reason="Payment", args={}, originator=ALICE, recipient=ALICE,
                           tx_count_global=1, tx_count_chain=1, thread_root="0x" + "00" * 32,
                           state_hash="0x", sig_hub="0x")
    purchase = Purchase(id="pur_x", sender=ALICE, meta={"orderId": "o-1", "n": [1, 2]})
    payments = [Payment(purchase=purchase, sender=ALICE, recipient=BOB, amount_token=10**30 + i,
                        type="PT_CHANNEL", meta={"i": i}, payer_update=update) for i in range(3)]
    rows_insert([update])  # saved after the payments were given it: its key is picked up
    rows_insert([purchase])
    rows_insert(payments)
    assert [p.pk for p in payments] == sorted(p.pk for p in payments)
    for payment in payments:
        stored = Payment.objects.get(pk=payment.pk)
        assert stored.payer_update_id == update.pk and stored.purchase_id == "pur_x"
        assert stored.amount_token == payment.amount_token and stored.meta == payment.meta
        assert stored.created_at == payment.created_at is not None
    assert Purchase.objects.get().meta == {"orderId": "o-1", "n": [1, 2]}
    with pytest.raises(TypeError):
        rows_insert([payments[0]])  # already saved
    with pytest.raises(TypeError):
        rows_insert([LedgerEntry(account="a", asset="wei", amount=1)])  # not marked


@pytest.mark.django_db(transaction=True)
def test_fast_inserts_send_what_the_fields_own_conversions_send() -> None:
    """`_prepare` converts most columns without the field's call chain (ints, strings, amounts,
    keys): the parameters are the same values, of the same types, as `get_db_prep_save` makes,
    and anything unusual (an enum member, an amount given as a string) still takes the long way."""
    channel = channels_lock(CONTRACT, [ALICE])[ALICE]
    update = ChannelUpdate(channel=channel, reason=ChannelUpdate._meta.get_field("reason").choices[0][0]
                           if ChannelUpdate._meta.get_field("reason").choices else "Payment",
                           args={"a": [1]}, originator=ALICE, recipient=ALICE, balance_wei_user=0,
                           balance_token_user=2**256 - 1, tx_count_global=7, tx_count_chain=1,
                           thread_root="0x" + "00" * 32, state_hash="0x", sig_hub="0x")
    update.balance_wei_hub = "12"  # through the descriptor: an int from here on
    update.pk = 10**12
    purchase = Purchase(id="pur_y", sender=ALICE, meta={})
    payment = Payment(purchase=purchase, sender=ALICE, recipient=BOB, amount_token=5,
                      type=Payment._meta.get_field("type").choices[0][0], meta={}, payer_update=update)
    for objs, keyed in (([update], True), ([purchase], False), ([payment], False)):
        model = type(objs[0])
        _m, params = _prepare(objs, keyed)
        fields = _fields(model, keyed)
        fast = [f.attname for f, _a, prep in _columns_prep(model, keyed) if prep is not None]
        assert fast, model  # the shortcut is taken for this model's plain columns
        for field, value in zip(fields, params, strict=True):
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                continue
            expected = field.get_db_prep_save(getattr(objs[0], field.attname), connection)
            assert type(value) is type(expected), field.name
            assert getattr(value, "obj", value) == getattr(expected, "obj", expected), field.name  # Jsonb
    assert "balance_token_user" in [f.attname for f, _a, p in _columns_prep(ChannelUpdate, True) if p]


# --- What each payment writes: the indexes on the payment path's tables (hub 0008, purchases 0009)

def _indexes(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
        return {row[0].split(" USING ")[1] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_the_payment_path_tables_carry_no_index_nothing_reads() -> None:
    # no varchar_pattern_ops twin of a plain index (nothing searches these by prefix) ...
    for table in ("purchases_purchase", "purchases_payment", "hub_channelupdate"):
        patterns = {d for d in _indexes(table) if "varchar_pattern_ops" in d}
        assert patterns <= {"btree (id varchar_pattern_ops)", "btree (public_id varchar_pattern_ops)"}, table
    # ... the ledger's account one index for equality and prefixes, the posting none ...
    ledger = _indexes("hub_ledgerentry")
    assert "btree (account varchar_pattern_ops)" in ledger and "btree (account)" not in ledger
    assert not any("posting" in d for d in ledger)
    # ... a payment's recipient only in the index that leads with it, and the held ones apart
    payment = _indexes("purchases_payment")
    assert "btree (recipient)" not in payment
    assert "btree (recipient) WHERE ((status)::text = 'pending'::text)" in payment
    assert "btree (channel_id)" not in _indexes("hub_channelupdate")


@pytest.mark.django_db
def test_moving_a_channel_head_is_an_update_in_place() -> None:
    """A channel's head moves with every state; no index covers what moves and the table's pages
    keep room, so PostgreSQL updates the row in its page (HOT) without writing any index."""

    def counts() -> tuple[int, int]:
        # PostgreSQL 15's xact counters also hold the connection's earlier transactions until
        # their statistics are flushed: only the difference is this test's
        with connection.cursor() as cursor:
            cursor.execute("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                           "WHERE relname = 'hub_channel'")
            return cursor.fetchone()

    locked = channels_lock(CONTRACT, [ALICE, BOB])
    updated_before, in_place_before = counts()
    for tx in (1, 2, 3):
        for user in (ALICE, BOB):
            channel = locked[user]
            channel.latest_update = update_for(channel, tx)
            channel.push_sequence = tx
        channel_heads_write(locked.values())
    updated, in_place = counts()
    assert (updated - updated_before, in_place - in_place_before) == (6, 6)


@pytest.mark.django_db
def test_what_the_hub_holds_for_a_recipient_is_found_in_its_own_index() -> None:
    """A merchant with a long history and two payments held: the lock's question (is anything
    held for this user?) reads the partial index of held payments, not the merchant's history."""
    purchase = Purchase.objects.create(id="p-held-index", sender=BOB)
    Payment.objects.bulk_create(
        [Payment(purchase=purchase, sender=BOB, recipient=ALICE, amount_token=1, type="PT_CHANNEL")
         for _ in range(3000)]
        + [Payment(purchase=purchase, sender=BOB, recipient=user, amount_token=1, type="PT_CHANNEL")
           for user in (BOB, CAROL) for _ in range(1000)]
        + [Payment(purchase=purchase, sender=BOB, recipient=ALICE, amount_token=1, type="PT_CHANNEL",
                   status=Payment.Status.PENDING) for _ in range(2)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE purchases_payment")
        cursor.execute("EXPLAIN SELECT EXISTS (SELECT 1 FROM purchases_payment h "
                       "WHERE h.recipient = %s AND h.status = 'pending')", [ALICE])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "purchases_pay_pending_to" in plan, plan


@pytest.mark.django_db(transaction=True)
def test_the_read_after_the_lock_runs_a_cached_generic_plan_that_uses_the_indexes() -> None:
    """The lock sets plan_cache_mode for its transaction only; the read's generic plan (what it
    runs from then on) finds the channels, heads and held payments through indexes on a hub with
    thousands of channels, as the plan made for the actual values would."""
    now = timezone.now()
    seeded = Channel.objects.bulk_create([Channel(contract=CONTRACT, user=f"0x{i:040x}", created_at=now,
                                                  updated_at=now) for i in range(1, 4001)])
    ChannelUpdate.objects.bulk_create([
        ChannelUpdate(channel=channel, reason="Payment", args={}, originator=channel.user,
                      recipient=channel.user, tx_count_global=tx, tx_count_chain=1,
                      thread_root="0x" + "00" * 32, state_hash="0x", sig_hub="0x")
        for channel in seeded for tx in (1, 2)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE hub_channel")
        cursor.execute("ANALYZE hub_channelupdate")
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "auto"
    with transaction.atomic():
        channels_lock(CONTRACT, [ALICE, BOB])
        with connection.cursor() as cursor:
            cursor.execute("SHOW plan_cache_mode")
            assert cursor.fetchone()[0] == "force_generic_plan"
            sql = _read_sql()
            count = sql.count("%s")
            numbered = sql
            for n in range(1, count + 1):
                numbered = numbered.replace("%s", f"${n}", 1)
            cursor.execute(f"PREPARE spoke_read_plan AS {numbered}")
            try:
                cursor.execute("EXPLAIN EXECUTE spoke_read_plan(%s, %s, %s)",
                               [ProposedUpdate.Status.OPEN.value, CONTRACT, "{" + f"{ALICE},{BOB}" + "}"])
                plan = "\n".join(row[0] for row in cursor.fetchall())
            finally:
                cursor.execute("DEALLOCATE spoke_read_plan")
    assert "Seq Scan on hub_channel " not in plan and "hub_channel" in plan, plan
    assert "Index Scan using hub_channelupdate_pkey" in plan, plan
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "auto"  # only for the lock's transaction


@pytest.mark.django_db
def test_the_prepared_cursor_loads_timestamps_as_django_does() -> None:
    """prepared_cursor reads timestamptz (and arrays of them) with psycopg's own loader, C in the
    binary package, instead of Django's Python one: the same values, the same tzinfo object."""
    import datetime

    from ops.rows import prepared_cursor

    sql = ("SELECT %s::timestamptz, '2026-12-07 17:33:54.262432+05'::timestamptz, "
           "ARRAY['2026-01-01 00:00:00.5-03'::timestamptz, NULL], NULL::timestamptz")
    moment = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(sql, [moment])
        django_row = cursor.fetchone()
    with prepared_cursor() as cursor:
        cursor.execute(sql, [moment])
        cursor.execute(sql, [moment])  # the second run is the prepared one
        row = cursor.fetchone()
        assert "SpecificTzLoader" not in type(cursor.cursor.adapters.get_loader(1184, 0)).__name__
    assert row == django_row and row[0] == moment
    for value in (row[0], row[1], row[2][0]):
        assert value.tzinfo is datetime.UTC


@pytest.mark.django_db(transaction=True)
def test_new_row_makes_what_the_model_constructor_makes() -> None:
    """ops.rows.new_row(model, **values) is model(**values) for the @fast_insert models: the same
    attributes (foreign keys by instance or by _id, defaults, callable defaults aside), the same
    state and related-object cache; unknown names and unmarked models are refused."""
    from ops.rows import new_row

    channel = channels_lock(CONTRACT, [ALICE])[ALICE]
    update_values = dict(channel=channel, reason="Payment", args={"a": 1}, originator=ALICE,
                         recipient=ALICE, tx_count_global=1, tx_count_chain=1, state_hash="0x",
                         sig_hub="0x", user_signed_at=timezone.now(), balance_token_user=10**30)

    def same(fast: Any, made: Any) -> Any:
        mine = {k: v for k, v in fast.__dict__.items() if k != "_state"}
        theirs = {k: v for k, v in made.__dict__.items() if k != "_state"}
        if "public_id" in theirs:  # a callable default: a fresh value each time
            assert mine.pop("public_id") != theirs.pop("public_id")
        assert mine == theirs
        assert fast._state.adding and fast._state.db == made._state.db
        assert fast._state.fields_cache.keys() == made._state.fields_cache.keys()
        return fast

    update = same(new_row(ChannelUpdate, **update_values), ChannelUpdate(**update_values))
    purchase = same(new_row(Purchase, id="pur_y", sender=ALICE, meta={"k": [1]}),
                    Purchase(id="pur_y", sender=ALICE, meta={"k": [1]}))
    payment_values = dict(purchase=purchase, sender=ALICE, recipient=BOB, amount_token=5,
                          type="PT_CHANNEL", meta={}, payer_update=update, completed_at=timezone.now())
    same(new_row(Payment, **payment_values), Payment(**payment_values))
    same(new_row(ChannelUpdate, channel_id=channel.pk, reason="x", originator=ALICE, recipient=ALICE),
         ChannelUpdate(channel_id=channel.pk, reason="x", originator=ALICE, recipient=ALICE))
    with pytest.raises(TypeError):
        new_row(Purchase, id="pur_z", sender=ALICE, colour="red")
    with pytest.raises(TypeError):
        new_row(LedgerEntry, account="a", asset="wei", amount=1)
    rows_insert([purchase])
    assert Purchase.objects.get(pk="pur_y").meta == {"k": [1]}
