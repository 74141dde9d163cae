"""Conversation state keyed by (channel, user key) instead of aiogram's storage key.

aiogram's key was "fsm:<bot id>:<chat id>:<user id>:default" (the state of a user in a
chat); the bot talks in private chats only, where the chat is the user, so each row
becomes ("telegram", "<user id>"), its step and data unchanged (the steps keep aiogram's
names). A user who wrote to two bots keeps the newer of their rows.
"""

from django.db import migrations, models


def keys_to_channel_and_user(apps, schema_editor):
    ConversationState = apps.get_model("botbridge", "ConversationState")
    seen = set()
    for row in ConversationState.objects.order_by("-updated_at", "-pk"):
        parts = row.key.split(":")
        user_key = parts[-2] if len(parts) >= 5 and parts[0] == "fsm" else ""
        if not user_key or user_key in seen:
            row.delete()
            continue
        seen.add(user_key)
        ConversationState.objects.filter(pk=row.pk).update(channel="telegram", user_key=user_key)


def channel_and_user_to_keys(apps, schema_editor):
    ConversationState = apps.get_model("botbridge", "ConversationState")
    ConversationState.objects.exclude(channel="telegram").delete()
    for row in ConversationState.objects.all():
        # The bot's id is not kept any more; 0 stands for it (a state to re-enter, at worst).
        key = f"fsm:0:{row.user_key}:{row.user_key}:default"
        ConversationState.objects.filter(pk=row.pk).update(key=key)


class Migration(migrations.Migration):
    dependencies = [("botbridge", "0003_notices")]

    operations = [
        migrations.AddField(
            model_name="conversationstate", name="channel", field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="conversationstate", name="user_key", field=models.CharField(default="", max_length=200),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="conversationstate", name="key", field=models.CharField(max_length=200, null=True)
        ),
        migrations.RunPython(keys_to_channel_and_user, channel_and_user_to_keys),
        migrations.RemoveField(model_name="conversationstate", name="key"),
        migrations.AddConstraint(
            model_name="conversationstate",
            constraint=models.UniqueConstraint(fields=("channel", "user_key"), name="conversation_once_per_channel_user"),
        ),
    ]
