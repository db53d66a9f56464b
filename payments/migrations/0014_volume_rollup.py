"""The overview's rollup (payments.dashboard.models.VolumeBucket), kept by the database itself.

Statement-level triggers on the payments table add each statement's completed payments (and take
away what an UPDATE or DELETE changed) in the same statement as the write: one upsert per
(address, quarter hour) touched, nothing for the application to forget. A payment's fiat is in
cents at the rate of its time, rounded half up per payment, as the dashboard shows it
(payments.dashboard.money.Money.fiat). A rate written later for an earlier time (a backfill)
changes that fiat for the payments after it: the rate table's triggers apply the difference for
exactly those payments. An advisory lock orders the two (payment writers share it, rate writers
take it alone), so a payment and a rate committed at the same moment cannot miss each other.
The existing payments are summed in at the end; payments.dashboard.volume rebuilds and checks."""

# ruff: noqa: S608 - the SQL is assembled from this module's constants only
from django.db import migrations, models

# a payment writer holds it shared, a rate writer exclusively (any fixed 64-bit number)
LOCK = 7207351320

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION payments_volume_bucket(t timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT to_timestamp(floor(extract(epoch FROM t) / 900) * 900) $$;

-- cents of `wei` at `rate` (tokens per ETH, a decimal string), half up; 0 without a usable rate
CREATE OR REPLACE FUNCTION payments_volume_wei_cents(wei numeric, rate text) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE r numeric;
BEGIN
    IF rate IS NULL OR wei IS NULL OR wei = 0 THEN
        RETURN 0;
    END IF;
    IF rate ~ '^[0-9]{1,22}(\.[0-9]*)?$' THEN
        r := rate::numeric(40, 18);
    ELSE
        BEGIN
            r := rate::numeric(40, 18);
        EXCEPTION WHEN others THEN
            RETURN 0;
        END;
    END IF;
    IF r = 'NaN'::numeric THEN
        RETURN 0;
    END IF;
    RETURN div(200 * wei * r + 1000000000000000000, 2000000000000000000);
END $$;

-- the rate of time t: the newest retrieved at or before it, the later row on a tie
CREATE OR REPLACE FUNCTION payments_volume_rate_at(t timestamptz) RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT r.rate FROM hub_exchangerate r WHERE r.retrieved_at <= t
      ORDER BY r.retrieved_at DESC, r.id DESC LIMIT 1 $$;
"""

UPSERT = """
    INSERT INTO payments_volumebucket AS b
        (recipient, bucket, shard, payments, wei, token, token_cents, wei_cents)
    SELECT c.recipient, c.bucket, pg_backend_pid() % 4, sum(c.n), sum(c.wei), sum(c.token),
           sum(c.token_cents), sum(c.wei_cents)
    FROM ({rows}) c
    GROUP BY c.recipient, c.bucket
    HAVING sum(c.n) <> 0 OR sum(c.wei) <> 0 OR sum(c.token) <> 0 OR sum(c.wei_cents) <> 0
    ORDER BY c.recipient, c.bucket
    ON CONFLICT (recipient, bucket, shard) DO UPDATE SET
        payments = b.payments + excluded.payments, wei = b.wei + excluded.wei,
        token = b.token + excluded.token, token_cents = b.token_cents + excluded.token_cents,
        wei_cents = b.wei_cents + excluded.wei_cents;
"""


def contributions(table: str, sign: str) -> str:
    return f"""
        SELECT p.recipient, payments_volume_bucket(p.created_at) AS bucket, {sign} AS n,
               {sign} * p.amount_wei AS wei, {sign} * p.amount_token AS token,
               {sign} * div(200 * p.amount_token + 1000000000000000000, 2000000000000000000)
                   AS token_cents,
               {sign} * payments_volume_wei_cents(p.amount_wei, CASE WHEN p.amount_wei > 0
                   THEN payments_volume_rate_at(p.created_at) END) AS wei_cents
        FROM {table} p WHERE p.status = 'completed'"""


CHANGED = """
    IF NOT EXISTS (SELECT 1 FROM old_rows o FULL JOIN new_rows n ON n.id = o.id
                   WHERE (o.recipient, o.created_at, o.status, o.amount_wei, o.amount_token)
                         IS DISTINCT FROM (n.recipient, n.created_at, n.status, n.amount_wei, n.amount_token)) THEN
        RETURN NULL;
    END IF;"""


def payment_function(name: str, rows: str, guard: str = "") -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN{guard}
    PERFORM pg_advisory_xact_lock_shared({LOCK});
    {UPSERT.format(rows=rows)}
    RETURN NULL;
END $$;"""


# The rates before the statement: the table without its new rows, with its old ones.
def _rate_before(new: str, old: str) -> str:
    return f"""(SELECT x.rate FROM (
            (SELECT r.retrieved_at, r.id, r.rate FROM hub_exchangerate r
             WHERE r.retrieved_at <= p.created_at AND r.id NOT IN (SELECT n.id FROM {new} n)
             ORDER BY r.retrieved_at DESC, r.id DESC LIMIT 1)
            UNION ALL
            (SELECT o.retrieved_at, o.id, o.rate FROM {old} o WHERE o.retrieved_at <= p.created_at
             ORDER BY o.retrieved_at DESC, o.id DESC LIMIT 1)) x
         ORDER BY x.retrieved_at DESC, x.id DESC LIMIT 1)"""


def rate_function(name: str, new: str, old: str) -> str:
    """The payments whose rate the statement can have changed: from the earliest rate it touched
    up to the first untouched rate after the latest one. Usually none (a new rate is newer than
    every payment)."""
    touched = f"(SELECT n.retrieved_at FROM {new} n UNION ALL SELECT o.retrieved_at FROM {old} o)"
    delta = f"""
        SELECT p.recipient, payments_volume_bucket(p.created_at) AS bucket, 0 AS n, 0 AS wei,
               0 AS token, 0 AS token_cents,
               payments_volume_wei_cents(p.amount_wei, payments_volume_rate_at(p.created_at))
               - payments_volume_wei_cents(p.amount_wei, {_rate_before(new, old)}) AS wei_cents
        FROM purchases_payment p
        WHERE p.status = 'completed' AND p.amount_wei > 0
          AND p.created_at >= (SELECT min(retrieved_at) FROM {touched} t)
          AND p.created_at < coalesce((SELECT min(r.retrieved_at) FROM hub_exchangerate r
                                       WHERE r.retrieved_at > (SELECT max(retrieved_at) FROM {touched} t)),
                                      'infinity')"""
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock({LOCK});
    {UPSERT.format(rows=delta)}
    RETURN NULL;
END $$;"""


NONE = "(SELECT NULL::bigint AS id, NULL::timestamptz AS retrieved_at, NULL::text AS rate WHERE false)"

TRIGGERS = "\n".join([
    FUNCTIONS,
    payment_function("payments_volume_on_payment_insert", contributions("new_rows", "1")),
    payment_function("payments_volume_on_payment_update",
                     contributions("new_rows", "1") + " UNION ALL " + contributions("old_rows", "-1"),
                     guard=CHANGED),
    payment_function("payments_volume_on_payment_delete", contributions("old_rows", "-1")),
    rate_function("payments_volume_on_rate_insert", "new_rows", NONE),
    rate_function("payments_volume_on_rate_update", "new_rows", "old_rows"),
    rate_function("payments_volume_on_rate_delete", NONE, "old_rows"),
    *(f"""CREATE TRIGGER payments_volume_{event.lower()} AFTER {event} ON {table}
          REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION payments_volume_on_{kind}_{event.lower()}();"""
      for table, kind in (("purchases_payment", "payment"), ("hub_exchangerate", "rate"))
      for event, refs in (("INSERT", "NEW TABLE AS new_rows"),
                          ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                          ("DELETE", "OLD TABLE AS old_rows"))),
])

REBUILD = f"""
SELECT pg_advisory_xact_lock({LOCK});
DELETE FROM payments_volumebucket;
{UPSERT.format(rows=contributions("purchases_payment", "1")).replace("pg_backend_pid() % 4", "0")}
"""

DROP = "\n".join([
    *(f"DROP TRIGGER IF EXISTS payments_volume_{e} ON {t};" for t in ("purchases_payment", "hub_exchangerate")
      for e in ("insert", "update", "delete")),
    *(f"DROP FUNCTION IF EXISTS payments_volume_on_{k}_{e}();" for k in ("payment", "rate")
      for e in ("insert", "update", "delete")),
    "DROP FUNCTION IF EXISTS payments_volume_rate_at(timestamptz);",
    "DROP FUNCTION IF EXISTS payments_volume_wei_cents(numeric, text);",
    "DROP FUNCTION IF EXISTS payments_volume_bucket(timestamptz);",
])


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0013_received_payment_receipt"),
        ("purchases", "0007_payment_recipient_time_index"),
        ("hub", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="VolumeBucket",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("recipient", models.CharField(max_length=42)),
                ("bucket", models.DateTimeField()),
                ("shard", models.SmallIntegerField(default=0)),
                ("payments", models.BigIntegerField(default=0)),
                ("wei", models.DecimalField(decimal_places=0, default=0, max_digits=100)),
                ("token", models.DecimalField(decimal_places=0, default=0, max_digits=100)),
                ("token_cents", models.DecimalField(decimal_places=0, default=0, max_digits=100)),
                ("wei_cents", models.DecimalField(decimal_places=0, default=0, max_digits=100)),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("recipient", "bucket", "shard"),
                                                        name="payments_volume_bucket_key")],
            },
        ),
        migrations.RunSQL(TRIGGERS + REBUILD, DROP),
    ]
