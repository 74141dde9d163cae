"""A reading's receipt code, and the reading of the same window it replaced (filled in by 0009)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('readings', '0009_export_batches'),
    ]

    operations = [
        migrations.AddField(
            model_name='historicalreading',
            name='receipt',
            field=models.CharField(db_index=True, max_length=8, null=True, verbose_name='receipt'),
        ),
        migrations.AddField(
            model_name='historicalreading',
            name='replaces',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='readings.reading', verbose_name='replaces'),
        ),
        migrations.AddField(
            model_name='reading',
            name='receipt',
            field=models.CharField(max_length=8, null=True, unique=True, verbose_name='receipt'),
        ),
        migrations.AddField(
            model_name='reading',
            name='replaces',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='replaced_by', to='readings.reading', verbose_name='replaces'),
        ),
    ]
