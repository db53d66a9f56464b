from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('purchases', '0006_checkout_payments'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(fields=['recipient', 'created_at', 'id'], include=('status', 'amount_wei', 'amount_token'), name='purchases_pay_recipient_time'),
        ),
    ]
