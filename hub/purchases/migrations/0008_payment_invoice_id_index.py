import django.db.models.fields.json
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('purchases', '0007_payment_recipient_time_index'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='payment',
            index=models.Index(django.db.models.fields.json.KeyTransform('invoiceId', 'meta'), name='purchases_pay_invoice_id'),
        ),
    ]
