"""The voice menu's channel is called `phone` (was `ivr`): its readings, old ones too."""

from django.db import migrations, models

CHANNELS = [
    ("telegram", "Telegram"),
    ("viber", "Viber"),
    ("messenger", "Messenger"),
    ("web", "web cabinet"),
    ("api", "API"),
    ("phone", "phone"),
    ("staff", "staff"),
    ("import", "import"),
]
KNOWN = ["telegram", "viber", "messenger", "web", "api", "phone", "staff", "import"]


def rename(old: str, new: str):
    def run(apps, schema_editor):
        for name in ("Reading", "HistoricalReading"):  # the audit trail keeps saying what the row says
            apps.get_model("readings", name).objects.filter(channel=old).update(channel=new)

    return run


def channel_known(values: list[str]) -> models.CheckConstraint:
    return models.CheckConstraint(condition=models.Q(("channel__in", values)), name="reading_channel_known")


class Migration(migrations.Migration):
    dependencies = [("readings", "0006_channel_user_key")]

    operations = [
        # The constraint goes first and comes back last: between them rows hold the new value.
        migrations.RemoveConstraint(model_name="reading", name="reading_channel_known"),
        migrations.RunPython(rename("ivr", "phone"), rename("phone", "ivr")),
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
        migrations.AddConstraint(model_name="reading", constraint=channel_known(KNOWN)),
    ]
