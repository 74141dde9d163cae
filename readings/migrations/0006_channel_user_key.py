"""A reading's sender on its channel as a string key (was Telegram's chat id); Viber and Messenger."""

from django.db import migrations, models


def chat_id_to_key(apps, schema_editor):
    for name in ("Reading", "HistoricalReading"):
        model = apps.get_model("readings", name)
        # One UPDATE per chat rather than per row: a resident's readings share their chat.
        for chat_id in model.objects.filter(chat_id__isnull=False).values_list("chat_id", flat=True).distinct():
            model.objects.filter(chat_id=chat_id).update(channel_user_key=str(chat_id))


def key_to_chat_id(apps, schema_editor):
    for name in ("Reading", "HistoricalReading"):
        model = apps.get_model("readings", name)
        keys = model.objects.filter(channel="telegram").exclude(channel_user_key="")
        for key in keys.values_list("channel_user_key", flat=True).distinct():
            model.objects.filter(channel="telegram", channel_user_key=key).update(chat_id=int(key))


CHANNELS = [
    ("telegram", "Telegram"),
    ("viber", "Viber"),
    ("messenger", "Messenger"),
    ("web", "web cabinet"),
    ("api", "API"),
    ("ivr", "voice menu"),
    ("staff", "staff"),
    ("import", "import"),
]


class Migration(migrations.Migration):
    dependencies = [("readings", "0005_review")]

    operations = [
        migrations.AddField(
            model_name="reading",
            name="channel_user_key",
            field=models.CharField(blank=True, max_length=64, verbose_name="user on the channel"),
        ),
        migrations.AddField(
            model_name="historicalreading",
            name="channel_user_key",
            field=models.CharField(blank=True, max_length=64, verbose_name="user on the channel"),
        ),
        migrations.RunPython(chat_id_to_key, key_to_chat_id),
        migrations.RemoveField(model_name="reading", name="chat_id"),
        migrations.RemoveField(model_name="historicalreading", name="chat_id"),
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
        migrations.RemoveConstraint(model_name="reading", name="reading_channel_known"),
        migrations.AddConstraint(
            model_name="reading",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("channel__in", ["telegram", "viber", "messenger", "web", "api", "ivr", "staff", "import"])
                ),
                name="reading_channel_known",
            ),
        ),
    ]
