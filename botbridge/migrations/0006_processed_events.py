"""Processed events of every channel in one table (was Telegram's update ids only)."""

from django.db import migrations, models


def updates_to_events(apps, schema_editor):
    # In SQL: the rows' received_at stays theirs (auto_now_add would stamp them now). Kept for
    # two days at most, they are the claims Telegram may still re-deliver.
    q = schema_editor.quote_name
    schema_editor.execute(
        f"INSERT INTO {q('botbridge_processedevent')} ({q('channel')}, {q('key')}, {q('received_at')}) "
        f"SELECT 'telegram', CAST({q('bot_id')} AS TEXT) || ':' || CAST({q('update_id')} AS TEXT), "
        f"{q('received_at')} FROM {q('botbridge_processedupdate')}"
    )


def events_to_updates(apps, schema_editor):
    q = schema_editor.quote_name
    ProcessedEvent = apps.get_model("botbridge", "ProcessedEvent")
    for key, at in ProcessedEvent.objects.filter(channel="telegram").values_list("key", "received_at"):
        bot, update = key.split(":")
        schema_editor.execute(
            f"INSERT INTO {q('botbridge_processedupdate')} ({q('bot_id')}, {q('update_id')}, {q('received_at')}) "
            "VALUES (%s, %s, %s)",
            [int(bot), int(update), at],
        )


class Migration(migrations.Migration):
    dependencies = [
        ("botbridge", "0005_delivery_recipient"),
    ]

    operations = [
        migrations.CreateModel(
            name="ProcessedEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("channel", models.CharField(max_length=16)),
                ("key", models.CharField(max_length=200)),
                ("received_at", models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
        ),
        migrations.AddConstraint(
            model_name="processedevent",
            constraint=models.UniqueConstraint(fields=("channel", "key"), name="event_once_per_channel"),
        ),
        migrations.RunPython(updates_to_events, events_to_updates),
        migrations.DeleteModel(
            name="ProcessedUpdate",
        ),
    ]
