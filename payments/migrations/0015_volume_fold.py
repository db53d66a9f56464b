"""The overview's rollup leaves the payment's transaction: a new payment is no longer added by a
trigger in its own INSERT (on the purchase path that trigger cost about a third of PostgreSQL's
CPU per payment: bench/payments_bench.py) but folded in later, in batches, behind a watermark
(payments_volumefold.upto; payments.dashboard.volume.volume_fold, a job every few seconds).

The payments after the watermark (the tail) are not in the rollup: readers add them from the
payments table. So the remaining triggers change the rollup only for payments at or below the
watermark (an UPDATE or DELETE of a folded payment, a rate written for a folded payment's time);
a payment after it is read as it is. The fold and these triggers are ordered by migration 0014's
advisory lock (the fold holds it alone, the triggers share it), so a change either lands before
a fold (the fold reads the changed row) or after it (the trigger sees the new watermark)."""

# ruff: noqa: S608 - the SQL is assembled from migration 0014's constants only
import importlib

from django.db import migrations, models

rollup = importlib.import_module("payments.migrations.0014_volume_rollup")

FOLDED = "payments_volume_folded()"

FUNCTIONS = f"""
-- the last payment id in the rollup (0 when nothing was folded yet)
CREATE OR REPLACE FUNCTION {FOLDED} RETURNS bigint LANGUAGE sql STABLE
AS $$ SELECT coalesce((SELECT f.upto FROM payments_volumefold f WHERE f.id = 1), 0) $$;
"""


def folded_contributions(table: str, sign: str) -> str:
    return rollup.contributions(table, sign) + f" AND p.id <= {FOLDED}"


def folded_rate_function(name: str, new: str, old: str) -> str:
    sql = rollup.rate_function(name, new, old)
    needle = "WHERE p.status = 'completed' AND p.amount_wei > 0"
    assert needle in sql
    return sql.replace(needle, f"{needle} AND p.id <= {FOLDED}")


TRIGGERS = "\n".join([
    FUNCTIONS,
    "DROP TRIGGER IF EXISTS payments_volume_insert ON purchases_payment;",
    "DROP FUNCTION IF EXISTS payments_volume_on_payment_insert();",
    rollup.payment_function("payments_volume_on_payment_update",
                            folded_contributions("new_rows", "1") + " UNION ALL "
                            + folded_contributions("old_rows", "-1"), guard=rollup.CHANGED),
    rollup.payment_function("payments_volume_on_payment_delete", folded_contributions("old_rows", "-1")),
    folded_rate_function("payments_volume_on_rate_insert", "new_rows", rollup.NONE),
    folded_rate_function("payments_volume_on_rate_update", "new_rows", "old_rows"),
    folded_rate_function("payments_volume_on_rate_delete", rollup.NONE, "old_rows"),
    # what migration 0014 added up stays; from here on everything is past the watermark
    f"SELECT pg_advisory_xact_lock({rollup.LOCK});",
    "INSERT INTO payments_volumefold (id, upto) "
    "SELECT 1, coalesce(max(p.id), 0) FROM purchases_payment p;",
])

# Back to 0014: the insert trigger again, the other functions without the watermark, and the
# payments after the watermark summed in (the rollup is whole again).
REVERSE = "\n".join([
    f"SELECT pg_advisory_xact_lock({rollup.LOCK});",
    rollup.UPSERT.format(rows=rollup.contributions("purchases_payment", "1")
                         + f" AND p.id > {FOLDED}").replace("pg_backend_pid() % 4", "0"),
    rollup.payment_function("payments_volume_on_payment_insert", rollup.contributions("new_rows", "1")),
    rollup.payment_function("payments_volume_on_payment_update",
                            rollup.contributions("new_rows", "1") + " UNION ALL "
                            + rollup.contributions("old_rows", "-1"), guard=rollup.CHANGED),
    rollup.payment_function("payments_volume_on_payment_delete", rollup.contributions("old_rows", "-1")),
    rollup.rate_function("payments_volume_on_rate_insert", "new_rows", rollup.NONE),
    rollup.rate_function("payments_volume_on_rate_update", "new_rows", "old_rows"),
    rollup.rate_function("payments_volume_on_rate_delete", rollup.NONE, "old_rows"),
    """CREATE TRIGGER payments_volume_insert AFTER INSERT ON purchases_payment
       REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
       EXECUTE FUNCTION payments_volume_on_payment_insert();""",
    "DELETE FROM payments_volumefold;",
    f"DROP FUNCTION IF EXISTS {FOLDED};",
])


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0014_volume_rollup"),
    ]

    operations = [
        migrations.CreateModel(
            name="VolumeFold",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("upto", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunSQL(TRIGGERS, REVERSE),
    ]
