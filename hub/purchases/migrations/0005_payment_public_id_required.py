from django.db import migrations, models

import hub.purchases.ids


class Migration(migrations.Migration):

    dependencies = [
        ('purchases', '0004_backfill_payment_public_ids'),
    ]

    operations = [
        migrations.AlterField(
            model_name='payment',
            name='public_id',
            field=models.CharField(default=hub.purchases.ids.new_payment_id, max_length=40, unique=True),
        ),
    ]
