from typing import Any

from django.db import migrations

BATCH = 1000


def backfill(apps: Any, schema_editor: Any) -> None:
    """Give every existing payment a random public id (the sequential pay_<pk> revealed volume)."""
    from hub.purchases.ids import new_payment_id

    Payment = apps.get_model("purchases", "Payment")
    while True:
        rows = list(Payment.objects.filter(public_id__isnull=True).only("pk")[:BATCH])
        if not rows:
            return
        for row in rows:
            row.public_id = new_payment_id()
        Payment.objects.bulk_update(rows, ["public_id"])


class Migration(migrations.Migration):

    dependencies = [
        ('purchases', '0003_payment_public_id'),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
