"""Every reading sent before receipts gets one, and a reading that superseded another says which:
the next reading of its meter and period, which is what reading_submit has always done.

A migration of its own: PostgreSQL will not build 0008's indexes, nor alter the table in 0010,
in the transaction that updates the rows under deferred constraints.
"""

import secrets

from django.db import migrations


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
        ("readings", "0010_reading_receipt"),
    ]

    operations = [
        migrations.RunPython(receipts_and_successors, migrations.RunPython.noop),
    ]
