"""Every reading gets a receipt code, and a reading that superseded another says which.

The codes of existing readings are made here (0009 then makes the field required); a
superseded reading's successor is the next reading of its meter and period, which is what
reading_submit has always done.
"""

import secrets

import django.db.models.deletion
from django.db import migrations, models


def receipts_and_successors(apps, schema_editor):
    Reading = apps.get_model("readings", "Reading")
    HistoricalReading = apps.get_model("readings", "HistoricalReading")
    taken = set(Reading.objects.exclude(receipt=None).values_list("receipt", flat=True))
    for reading in Reading.objects.filter(receipt=None).only("pk").iterator():
        code = _new(taken)
        Reading.objects.filter(pk=reading.pk).update(receipt=code)
        HistoricalReading.objects.filter(id=reading.pk).update(receipt=code)
    replaced = set()
    superseded = Reading.objects.filter(status="superseded").order_by("submitted_at", "pk")
    for earlier in superseded.only("pk", "meter_id", "period", "submitted_at").iterator():
        successor = (
            Reading.objects.filter(meter_id=earlier.meter_id, period=earlier.period, submitted_at__gte=earlier.submitted_at)
            .exclude(pk=earlier.pk)
            .exclude(status="control")
            .exclude(pk__in=replaced)
            .order_by("submitted_at", "pk")
            .first()
        )
        if successor is not None and successor.replaces_id is None:
            Reading.objects.filter(pk=successor.pk).update(replaces=earlier.pk)
            replaced.add(successor.pk)


def _new(taken: set[str]) -> str:
    while True:
        code = f"{secrets.randbelow(10**8):08d}"
        if code not in taken:
            taken.add(code)
            return code


class Migration(migrations.Migration):

    dependencies = [
        ('readings', '0007_channel_phone'),
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
        migrations.RunPython(receipts_and_successors, migrations.RunPython.noop),
    ]
