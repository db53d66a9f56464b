from django.db import migrations, models


class Migration(migrations.Migration):
    """A random public id for payments (pay_ + 24 hex), added nullable; 0004 backfills existing
    rows and 0005 makes it required and unique. The integer primary key stays internal."""

    dependencies = [
        ('purchases', '0002_refund_executions'),
    ]

    operations = [
        migrations.AddField(
            model_name='payment',
            name='public_id',
            field=models.CharField(max_length=40, null=True),
        ),
    ]
