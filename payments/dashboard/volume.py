"""The overview's rollup (VolumeBucket, kept by the database's triggers: migration 0014): the
daily volume read from it, and the reconciliation that recomputes it from the payments and the
rates (the truth) to check it or rebuild it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from django.db import connection, connections, transaction
from django.utils import timezone

# the rollup's unit of time (UTC); must match payments_volume_bucket() in migration 0014
BUCKET_SECONDS = 900
# payment writers share it, rate writers and the rebuild hold it alone (migration 0014)
LOCK = 7207351320

_DAILY_SQL = """
SELECT (b.bucket AT TIME ZONE %(zone)s)::date AS day, sum(b.payments), sum(b.wei), sum(b.token),
       sum(b.token_cents) + sum(b.wei_cents)
FROM payments_volumebucket b
WHERE b.recipient = ANY(%(addresses)s) AND b.bucket >= %(start)s AND b.bucket < %(end)s
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
    [start, end) (both on quarter hours): (count, wei, token, cents), cents at each payment's rate."""
    with connections[using].cursor() as cursor:
        cursor.execute(_DAILY_SQL, {"zone": timezone.get_current_timezone_name(),
                                    "addresses": list(addresses), "start": start, "end": end})
        return {day: (int(count), int(wei), int(token), int(cents))
                for day, count, wei, token, cents in cursor.fetchall()}


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

_ROLLUP_SQL = """
SELECT recipient, bucket, sum(payments), sum(wei), sum(token), sum(token_cents), sum(wei_cents)
FROM payments_volumebucket GROUP BY 1, 2
HAVING sum(payments) <> 0 OR sum(wei) <> 0 OR sum(token) <> 0 OR sum(wei_cents) <> 0
"""

Key = tuple[str, datetime]
Sums = tuple[int, int, int, int, int]


def _read(sql: str) -> dict[Key, Sums]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return {(r[0], r[1]): tuple(int(v) for v in r[2:]) for r in cursor.fetchall()}  # type: ignore[misc]


def volume_discrepancies() -> dict[Key, tuple[Sums | None, Sums | None]]:
    """{(address, quarter hour): (rollup, recomputed)} wherever the rollup differs from the sums
    recomputed from the payments and the rates. Empty when the rollup is right. It reads both in
    one transaction holding the writers' lock alone, so no write lands between the two reads."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])
        rollup, truth = _read(_ROLLUP_SQL), _read(_TRUTH_SQL)
    return {k: (rollup.get(k), truth.get(k)) for k in rollup.keys() | truth.keys()
            if rollup.get(k) != truth.get(k)}


@transaction.atomic
def volume_rebuild() -> int:
    """Replace the rollup with the sums recomputed from the payments and the rates (idempotent;
    writers wait on the lock meanwhile). Returns the number of quarter-hour rows written."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK])
        cursor.execute("DELETE FROM payments_volumebucket")
        cursor.execute(
            "INSERT INTO payments_volumebucket (recipient, bucket, shard, payments, wei, token, "  # noqa: S608
            f"token_cents, wei_cents) SELECT t.recipient, t.bucket, 0, t.n, t.wei, t.token, "
            f"t.token_cents, t.wei_cents FROM ({_TRUTH_SQL}) t")
        return cursor.rowcount
