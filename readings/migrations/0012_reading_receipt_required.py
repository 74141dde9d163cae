"""The receipt is required once 0009 gave every reading one."""

from django.db import migrations, models

import readings.receipts


class Migration(migrations.Migration):
    dependencies = [
        ("readings", "0011_reading_receipt_backfill"),
    ]

    operations = [
        migrations.AlterField(
            model_name="historicalreading",
            name="receipt",
            field=models.CharField(db_index=True, default=readings.receipts.receipt_new, editable=False, max_length=8, verbose_name="receipt"),
        ),
        migrations.AlterField(
            model_name="reading",
            name="receipt",
            field=models.CharField(default=readings.receipts.receipt_new, editable=False, max_length=8, unique=True, verbose_name="receipt"),
        ),
    ]
