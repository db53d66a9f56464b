"""The overview's rollup (VolumeBucket): the daily volume read from it, the fold that adds new
payments to it, and the reconciliation that recomputes it from the payments and the rates (the
truth) to check it or rebuild it.

A payment is not added by its own transaction (that cost the purchase path a third of
PostgreSQL's CPU per payment): `volume_fold` (the `fold_volume` job, every
VOLUME_FOLD_SECONDS) adds the payments after the watermark (VolumeFold.upto) in one statement
and moves the watermark. Readers add the payments after the watermark, the tail, from the
payments table in the same statement (one snapshot), so what they read is exact at any moment.
Changes to folded payments and to rates are applied by the database's triggers (migrations
0014, 0015)."""

# ruff: noqa: S608 - the SQL is assembled from this module's constants only
from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from django.db import connection, connections, transaction
from django.utils import timezone

# the rollup's unit of time (UTC); must match payments_volume_bucket() in migration 0014
BUCKET_SECONDS = 900
# the triggers on folded payments share it; rate writers, the fold and the rebuild hold it alone
# (migrations 0014, 0015)
LOCK = 7207351320

# What one payment adds to its quarter hour (`p`, a row of purchases_payment), in the
# rollup's columns; the same arithmetic as migration 0014's triggers.
_CONTRIBUTION = """p.recipient, payments_volume_bucket(p.created_at) AS bucket, 1 AS payments,
       p.amount_wei AS wei, p.amount_token AS token,
       div(200 * p.amount_token + 1000000000000000000, 2000000000000000000) AS token_cents,
       payments_volume_wei_cents(p.amount_wei, CASE WHEN p.amount_wei > 0
           THEN payments_volume_rate_at(p.created_at) END) AS wei_cents"""

# The payments after the watermark (the tail): a few seconds' payments.
_TAIL = f"""SELECT {_CONTRIBUTION} FROM purchases_payment p
    WHERE p.id > payments_volume_folded() AND p.status = 'completed'"""

# The tail is read from the watermark read just before as a value (the planner then knows it
# is a few rows at the end of the primary key's index, not a third of the table); the statement
# also returns the watermark it saw, and is read again in the rare case that a fold moved it
# in between (the folded payments would be counted twice).
_DAILY_SQL = """
SELECT (b.bucket AT TIME ZONE %(zone)s)::date AS day, sum(b.payments), sum(b.wei), sum(b.token),
       sum(b.token_cents) + sum(b.wei_cents), payments_volume_folded()
FROM (SELECT r.bucket, r.payments, r.wei, r.token, r.token_cents, r.wei_cents
      FROM payments_volumebucket r
      WHERE r.recipient = ANY(%(addresses)s) AND r.bucket >= %(start)s AND r.bucket < %(end)s
      UNION ALL
      SELECT payments_volume_bucket(p.created_at), 1, p.amount_wei, p.amount_token,
             div(200 * p.amount_token + 1000000000000000000, 2000000000000000000),
             payments_volume_wei_cents(p.amount_wei, CASE WHEN p.amount_wei > 0
                 THEN payments_volume_rate_at(p.created_at) END)
      FROM purchases_payment p
      WHERE p.id > %(folded)s AND p.status = 'completed' AND p.recipient = ANY(%(addresses)s)
        AND p.created_at >= %(start)s AND p.created_at < %(end)s) b
GROUP BY 1
HAVING sum(b.payments) <> 0 OR sum(b.wei) <> 0 OR sum(b.token) <> 0 OR sum(b.wei_cents) <> 0
"""


def day_boundaries_fit(first: date, last: date) -> bool:
    """Whether every midnight of the current time zone from `first` to the day after `last` falls
    on a quarter hour (true of every zone's offsets since the 1970s; not of local mean times)."""
    zone = timezone.get_current_timezone()
    day = first
    while day <= last + timedelta(days=1):
        if int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()) % BUCKET_SECONDS:
            return False
        day += timedelta(days=1)
    return True


def rollup_daily_volume(addresses: Sequence[str], start: datetime, end: datetime,
                        using: str) -> dict[date, tuple[int, int, int, int]]:
    """Per day of the current time zone, the completed payments to `addresses` created in
    [start, end) (both on quarter hours): (count, wei, token, cents), cents at each payment's rate.
    The rollup and the tail in one statement."""
    with connections[using].cursor() as cursor:
        while True:
            cursor.execute("SELECT payments_volume_folded()")
            folded = cursor.fetchone()[0]
            cursor.execute(_DAILY_SQL, {"zone": timezone.get_current_timezone_name(),
                                        "addresses": list(addresses), "start": start, "end": end,
                                        "folded": folded})
            rows = cursor.fetchall()
            if all(row[5] == folded for row in rows):
                return {day: (int(count), int(wei), int(token), int(cents))
                        for day, count, wei, token, cents, _folded in rows}


# --- the fold ------------------------------------------------------------------------------------

_FOLD_SQL = f"""
INSERT INTO payments_volumebucket AS b
    (recipient, bucket, shard, payments, wei, token, token_cents, wei_cents)
SELECT c.recipient, c.bucket, 0, sum(c.payments), sum(c.wei), sum(c.token), sum(c.token_cents),
       sum(c.wei_cents)
FROM (SELECT {_CONTRIBUTION} FROM purchases_payment p
      WHERE p.id > %(after)s AND p.id <= %(upto)s AND p.status = 'completed') c
GROUP BY c.recipient, c.bucket
ORDER BY c.recipient, c.bucket
ON CONFLICT (recipient, bucket, shard) DO UPDATE SET
    payments = b.payments + excluded.payments, wei = b.wei + excluded.wei,
    token = b.token + excluded.token, token_cents = b.token_cents + excluded.token_cents,
    wei_cents = b.wei_cents + excluded.wei_cents
"""

_MARK_SQL = """INSERT INTO payments_volumefold (id, upto) VALUES (1, %s)
ON CONFLICT (id) DO UPDATE SET upto = excluded.upto"""

# The other transactions of this database that are running now, by their virtual transaction id
# (each holds a lock on its own for its whole life).
_RUNNING_SQL = """
SELECT l.virtualxid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'virtualxid' AND l.granted AND l.pid <> pg_backend_pid()
  AND a.datname = current_database() AND a.backend_type = 'client backend'
"""


def settled_payment_id(wait_seconds: float = 10.0) -> int | None:
    """A payment id that no running transaction can still add a payment under: the highest
    committed one, once every transaction that was running when it was read has ended (a
    transaction takes its payment ids from the sequence before it inserts them, and commits
    in its own time). None when one of them is still running after `wait_seconds`."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM purchases_payment")
        upto = int(cursor.fetchone()[0])
        # read after the id: a transaction holding a smaller id that has not committed was
        # running when the id was read, so it is among these
        cursor.execute(_RUNNING_SQL)
        running = [row[0] for row in cursor.fetchall()]
        deadline = time.monotonic() + wait_seconds
        while running:
            cursor.execute("SELECT l.virtualxid FROM pg_locks l WHERE l.locktype = 'virtualxid' "
                           "AND l.virtualxid = ANY(%s)", [running])
            running = [row[0] for row in cursor.fetchall()]
            if running:
                if time.monotonic() >= deadline:
                    return None
                time.sleep(0.01)
    return upto


def volume_fold(wait_seconds: float = 10.0) -> int | None:
    """Add the payments after the watermark to the rollup, up to `settled_payment_id`, and move
    the watermark there. Returns the new watermark (None: nothing could be folded now)."""
    upto = settled_payment_id(wait_seconds)
    if upto is None:
        return None
    with transaction.atomic(), connection.cursor() as cursor:
        # alone: the triggers that change folded payments wait, and see the new watermark after
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])
        cursor.execute("SELECT payments_volume_folded()")
        after = int(cursor.fetchone()[0])
        if upto <= after:
            return after
        cursor.execute(_FOLD_SQL, {"after": after, "upto": upto})
        cursor.execute(_MARK_SQL, [upto])
    return upto


# --- reconciliation ------------------------------------------------------------------------------

_TRUTH_SQL = """
SELECT p.recipient, payments_volume_bucket(p.created_at) AS bucket, count(*) AS n,
       sum(p.amount_wei) AS wei, sum(p.amount_token) AS token,
       sum(div(200 * p.amount_token + 1000000000000000000, 2000000000000000000)) AS token_cents,
       sum(payments_volume_wei_cents(p.amount_wei, CASE WHEN p.amount_wei > 0
           THEN payments_volume_rate_at(p.created_at) END)) AS wei_cents
FROM purchases_payment p WHERE p.status = 'completed'
GROUP BY 1, 2
"""

# the rollup with the tail (what a reader sees), tagged 'r', and the truth, tagged 't': one
# statement, so both are read from one snapshot
_COMPARE_SQL = f"""
SELECT 'r', recipient, bucket, sum(payments), sum(wei), sum(token), sum(token_cents), sum(wei_cents)
FROM (SELECT recipient, bucket, payments, wei, token, token_cents, wei_cents
      FROM payments_volumebucket
      UNION ALL
      SELECT t.recipient, t.bucket, t.payments, t.wei, t.token, t.token_cents, t.wei_cents
      FROM ({_TAIL}) t) r
GROUP BY 2, 3
HAVING sum(payments) <> 0 OR sum(wei) <> 0 OR sum(token) <> 0 OR sum(wei_cents) <> 0
UNION ALL
SELECT 't', x.* FROM ({_TRUTH_SQL}) x
"""

Key = tuple[str, datetime]
Sums = tuple[int, int, int, int, int]


def volume_discrepancies() -> dict[Key, tuple[Sums | None, Sums | None]]:
    """{(address, quarter hour): (rollup, recomputed)} wherever the rollup (with the payments
    after its watermark) differs from the sums recomputed from the payments and the rates.
    Empty when the rollup is right. Both are read in one statement: no write lands between."""
    found: dict[str, dict[Key, Sums]] = {"r": {}, "t": {}}
    with connection.cursor() as cursor:
        cursor.execute(_COMPARE_SQL)
        for row in cursor.fetchall():
            found[row[0]][(row[1], row[2])] = tuple(int(v) for v in row[3:])  # type: ignore[assignment]
    rollup, truth = found["r"], found["t"]
    return {k: (rollup.get(k), truth.get(k)) for k in rollup.keys() | truth.keys()
            if rollup.get(k) != truth.get(k)}


def volume_rebuild(wait_seconds: float = 60.0) -> int:
    """Replace the rollup with the sums recomputed from the payments and the rates, up to
    `settled_payment_id`, and move the watermark there (idempotent; the writers that change
    folded payments wait on the lock meanwhile). Returns the number of quarter-hour rows written."""
    upto = settled_payment_id(wait_seconds)
    if upto is None:
        raise RuntimeError("a transaction kept running: the rollup was not rebuilt; try again")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])
        cursor.execute("DELETE FROM payments_volumebucket")
        cursor.execute(_FOLD_SQL, {"after": 0, "upto": upto})
        written = cursor.rowcount
        cursor.execute(_MARK_SQL, [upto])
        return written
