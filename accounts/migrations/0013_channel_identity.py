"""One identity model for every channel: each TelegramIdentity becomes a ChannelIdentity."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def telegram_to_channel(apps, schema_editor):
    TelegramIdentity = apps.get_model("accounts", "TelegramIdentity")
    ChannelIdentity = apps.get_model("accounts", "ChannelIdentity")
    ChannelIdentity.objects.bulk_create(
        (
            ChannelIdentity(
                user_id=old.user_id,
                channel="telegram",
                external_id=str(old.telegram_id),
                display_name=old.first_name,
                username=old.username,
                language_code=old.language_code,
                blocked_at=old.blocked_at,
            )
            for old in TelegramIdentity.objects.iterator(chunk_size=2000)
        ),
        batch_size=2000,
    )
    # auto_now_add stamped the copies with today; a user's first contact stays what it was.
    first_contact = TelegramIdentity.objects.filter(user_id=OuterRef("user_id")).values("created_at")[:1]
    ChannelIdentity.objects.filter(channel="telegram").update(created_at=Subquery(first_contact))


def channel_to_telegram(apps, schema_editor):
    TelegramIdentity = apps.get_model("accounts", "TelegramIdentity")
    ChannelIdentity = apps.get_model("accounts", "ChannelIdentity")
    for new in ChannelIdentity.objects.filter(channel="telegram").iterator(chunk_size=2000):
        TelegramIdentity.objects.create(
            user_id=new.user_id,
            telegram_id=int(new.external_id),
            first_name=new.display_name,
            username=new.username,
            language_code=new.language_code,
            blocked_at=new.blocked_at,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0012_api_tokens_knox"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ChannelIdentity",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "channel",
                    models.CharField(
                        choices=[("telegram", "Telegram"), ("viber", "Viber"), ("messenger", "Messenger")],
                        max_length=16,
                        verbose_name="channel",
                    ),
                ),
                ("external_id", models.CharField(max_length=64, verbose_name="id on the channel")),
                ("display_name", models.CharField(blank=True, max_length=128, verbose_name="first name")),
                ("username", models.CharField(blank=True, max_length=64, verbose_name="username")),
                ("language_code", models.CharField(blank=True, max_length=16, verbose_name="language")),
                ("blocked_at", models.DateTimeField(blank=True, null=True, verbose_name="blocked the bot")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="channel_identities",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "channel identity",
                "verbose_name_plural": "channel identities",
                "constraints": [
                    models.UniqueConstraint(fields=("channel", "external_id"), name="channel_identity_one_user"),
                    models.UniqueConstraint(fields=("user", "channel"), name="channel_identity_one_per_channel"),
                    models.CheckConstraint(
                        condition=models.Q(("channel__in", ["telegram", "viber", "messenger"])),
                        name="channel_identity_channel_known",
                    ),
                ],
            },
        ),
        migrations.RunPython(telegram_to_channel, channel_to_telegram),
        migrations.DeleteModel(name="TelegramIdentity"),
    ]
