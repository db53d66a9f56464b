from django.db import migrations


class Migration(migrations.Migration):
    """The admin's "Receiving addresss" (Django's default plural): a name only, no schema change."""

    dependencies = [("payments", "0006_checkout")]

    operations = [
        migrations.AlterModelOptions(name="receivingaddress", options={"verbose_name_plural": "receiving addresses"}),
    ]
