"""Fewer index entries written per purchase and payment (issue 20), and an index for what the
hub holds for a recipient.

db_index=True on a CharField makes two indexes, a plain one and a varchar_pattern_ops one for
LIKE prefixes; nothing searches purchases or payments by prefix, so the pattern indexes go and
the plain ones are kept under the names the models now give them (renamed, not rebuilt). A
payment's recipient has no index of its own: purchases_pay_recipient_time leads with it. The
new partial index holds only pending payments (a handful): the lock of every purchase asks
whether the hub holds payments for the channel's user, which otherwise walked all of that user's
payments in purchases_pay_recipient_time (a merchant's whole history, on every payment to it)."""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
DROP INDEX IF EXISTS purchases_purchase_sender_94976045_like;
ALTER INDEX purchases_purchase_sender_94976045 RENAME TO purchases_purchase_sender;
DROP INDEX IF EXISTS purchases_payment_sender_a783e2b1_like;
ALTER INDEX purchases_payment_sender_a783e2b1 RENAME TO purchases_pay_sender;
DROP INDEX IF EXISTS purchases_payment_recipient_7ea6c22e_like;
DROP INDEX IF EXISTS purchases_payment_recipient_7ea6c22e;
DROP INDEX IF EXISTS purchases_payment_purchase_id_0105c892_like;
ALTER INDEX purchases_payment_purchase_id_0105c892 RENAME TO purchases_pay_purchase;
"""

BACKWARD = """
ALTER INDEX purchases_pay_purchase RENAME TO purchases_payment_purchase_id_0105c892;
CREATE INDEX purchases_payment_purchase_id_0105c892_like ON purchases_payment (purchase_id varchar_pattern_ops);
CREATE INDEX purchases_payment_recipient_7ea6c22e ON purchases_payment (recipient);
CREATE INDEX purchases_payment_recipient_7ea6c22e_like ON purchases_payment (recipient varchar_pattern_ops);
ALTER INDEX purchases_pay_sender RENAME TO purchases_payment_sender_a783e2b1;
CREATE INDEX purchases_payment_sender_a783e2b1_like ON purchases_payment (sender varchar_pattern_ops);
ALTER INDEX purchases_purchase_sender RENAME TO purchases_purchase_sender_94976045;
CREATE INDEX purchases_purchase_sender_94976045_like ON purchases_purchase (sender varchar_pattern_ops);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("hub", "0008_lean_write_indexes"),
        ("purchases", "0008_payment_invoice_id_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.AlterField(
                    model_name="payment",
                    name="purchase",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="payments", to="purchases.purchase"),
                ),
                migrations.AlterField(
                    model_name="payment",
                    name="recipient",
                    field=models.CharField(max_length=42),
                ),
                migrations.AlterField(
                    model_name="payment",
                    name="sender",
                    field=models.CharField(max_length=42),
                ),
                migrations.AlterField(
                    model_name="purchase",
                    name="sender",
                    field=models.CharField(max_length=42),
                ),
                migrations.AddIndex(
                    model_name="payment",
                    index=models.Index(fields=["sender"], name="purchases_pay_sender"),
                ),
                migrations.AddIndex(
                    model_name="payment",
                    index=models.Index(fields=["purchase"], name="purchases_pay_purchase"),
                ),
                migrations.AddIndex(
                    model_name="purchase",
                    index=models.Index(fields=["sender"], name="purchases_purchase_sender"),
                ),
            ],
        ),
        # the one index built: over pending payments only (a partial index reads the table once)
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(condition=models.Q(("status", "pending")), fields=["recipient"],
                               name="purchases_pay_pending_to"),
        ),
    ]
