"""A delivery goes to a recipient on a channel (was a Telegram chat id)."""

from django.db import migrations, models


def chat_id_to_recipient(apps, schema_editor):
    Delivery = apps.get_model("botbridge", "Delivery")
    # One UPDATE per chat: a chat has one delivery per broadcast, so this is the chats, not the rows.
    for chat_id in Delivery.objects.values_list("chat_id", flat=True).distinct():
        Delivery.objects.filter(chat_id=chat_id).update(channel="telegram", recipient_key=str(chat_id))


def recipient_to_chat_id(apps, schema_editor):
    Delivery = apps.get_model("botbridge", "Delivery")
    Delivery.objects.exclude(channel="telegram").delete()  # the old table knows Telegram's chats only
    for key in Delivery.objects.values_list("recipient_key", flat=True).distinct():
        Delivery.objects.filter(recipient_key=key).update(chat_id=int(key))


class Migration(migrations.Migration):
    dependencies = [
        ("botbridge", "0004_conversation_per_channel"),
        ("accounts", "0013_channel_identity"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="channel",
            field=models.CharField(
                choices=[("telegram", "Telegram"), ("viber", "Viber"), ("messenger", "Messenger")],
                default="telegram",
                max_length=16,
                verbose_name="channel",
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="delivery",
            name="recipient_key",
            field=models.CharField(default="", max_length=64, verbose_name="recipient"),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="delivery",
            name="chat_id",
            field=models.BigIntegerField(null=True, verbose_name="Telegram chat"),
        ),
        migrations.RunPython(chat_id_to_recipient, recipient_to_chat_id),
        migrations.RemoveConstraint(model_name="delivery", name="delivery_once_per_chat"),
        migrations.RemoveField(model_name="delivery", name="chat_id"),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.UniqueConstraint(
                fields=("broadcast", "channel", "recipient_key"), name="delivery_once_per_recipient"
            ),
        ),
    ]
