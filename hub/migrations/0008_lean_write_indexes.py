"""Fewer index entries written per channel state and ledger posting (issue 20): every payment
writes two states, a handful of ledger rows and two channel heads, and each index on those
tables is one more entry (and WAL) per row.

- hub_channel.latest_update_id loses its index, and the table leaves a third of each page free:
  moving a channel's head then changes no indexed column, so PostgreSQL updates the row in its
  page (HOT) without an index entry.
- hub_channelupdate.channel_id loses its own index: (channel_id, tx_count_global) leads with it.
- hub_ledgerentry: `posting` loses its index (nothing looks a posting up, and a random UUID
  dirties a random index page per row); `account` keeps one index instead of two: the
  varchar_pattern_ops one Django made beside the plain one answers equality and prefixes, and is
  renamed, not rebuilt.

The state operations are what makemigrations derives from the models; the database operations
drop and rename instead of rebuilding, so the migration takes no table scan."""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
DROP INDEX IF EXISTS hub_channel_latest_update_id_6c35a791;
ALTER TABLE hub_channel SET (fillfactor = 70);
DROP INDEX IF EXISTS hub_channelupdate_channel_id_7af88316;
DROP INDEX IF EXISTS hub_ledgerentry_posting_47add0ef;
DROP INDEX IF EXISTS hub_ledgerentry_account_9128aa1c;
ALTER INDEX hub_ledgerentry_account_9128aa1c_like RENAME TO hub_ledger_account_prefix;
"""

BACKWARD = """
ALTER INDEX hub_ledger_account_prefix RENAME TO hub_ledgerentry_account_9128aa1c_like;
CREATE INDEX hub_ledgerentry_account_9128aa1c ON hub_ledgerentry (account);
CREATE INDEX hub_ledgerentry_posting_47add0ef ON hub_ledgerentry (posting);
CREATE INDEX hub_channelupdate_channel_id_7af88316 ON hub_channelupdate (channel_id);
ALTER TABLE hub_channel RESET (fillfactor);
CREATE INDEX hub_channel_latest_update_id_6c35a791 ON hub_channel (latest_update_id);
"""


class Migration(migrations.Migration):

    dependencies = [
        ("hub", "0007_checkout"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.AlterField(
                    model_name="channel",
                    name="latest_update",
                    field=models.ForeignKey(blank=True, db_index=False, null=True,
                                            on_delete=django.db.models.deletion.PROTECT,
                                            related_name="+", to="hub.channelupdate"),
                ),
                migrations.AlterField(
                    model_name="channelupdate",
                    name="channel",
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT,
                                            related_name="updates", to="hub.channel"),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="account",
                    field=models.CharField(max_length=120),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="posting",
                    field=models.UUIDField(),
                ),
                migrations.AddIndex(
                    model_name="ledgerentry",
                    index=models.Index(fields=["account"], name="hub_ledger_account_prefix",
                                       opclasses=["varchar_pattern_ops"]),
                ),
            ],
        ),
    ]
