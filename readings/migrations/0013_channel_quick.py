"""The quick form's readings have their own channel, `quick` (they were recorded as `web`).

Earlier quick-form readings stay `web`: nothing on the row tells them apart for certain from a
signed-in resident's reading whose account was deleted since (both have no submitter).
"""

from django.db import migrations, models

CHANNELS = [
    ("telegram", "Telegram"),
    ("viber", "Viber"),
    ("messenger", "Messenger"),
    ("web", "web cabinet"),
    ("quick", "quick form"),
    ("api", "API"),
    ("phone", "phone"),
    ("staff", "staff"),
    ("import", "import"),
]
KNOWN = ["telegram", "viber", "messenger", "web", "quick", "api", "phone", "staff", "import"]


class Migration(migrations.Migration):
    dependencies = [("readings", "0012_reading_receipt_required")]

    operations = [
        migrations.RemoveConstraint(model_name="reading", name="reading_channel_known"),
        migrations.AlterField(
            model_name="reading",
            name="channel",
            field=models.CharField(choices=CHANNELS, max_length=16, verbose_name="channel"),
        ),
        migrations.AlterField(
            model_name="historicalreading",
            name="channel",
            field=models.CharField(choices=CHANNELS, max_length=16, verbose_name="channel"),
        ),
        migrations.AddConstraint(
            model_name="reading",
            constraint=models.CheckConstraint(condition=models.Q(("channel__in", KNOWN)), name="reading_channel_known"),
        ),
    ]
