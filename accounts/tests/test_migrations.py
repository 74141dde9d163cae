"""The move from TelegramIdentity to ChannelIdentity, with readings and deliveries keyed per channel."""

import datetime as dt

import pytest
from django.core.management import call_command

from conftest import migrate_to

pytestmark = pytest.mark.slow
BEFORE = [
    ("accounts", "0012_api_tokens_knox"),
    ("readings", "0005_review"),
    ("botbridge", "0004_conversation_per_channel"),
]
AFTER = [
    ("accounts", "0013_channel_identity"),
    ("readings", "0006_channel_user_key"),
    ("botbridge", "0005_delivery_recipient"),
]
BLOCKED_AT = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
FIRST_CONTACT = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def seed_before(apps) -> None:
    """Two bot users as the Telegram-only model kept them: one linked, midway, with a reading held
    for review and a reminder sent; one who blocked the bot."""
    User = apps.get_model("accounts", "User")
    maria = User.objects.create(username="tg5000000001", first_name="Марія")
    oleh = User.objects.create(username="tg222", first_name="Олег")
    identity = apps.get_model("accounts", "TelegramIdentity")
    identity.objects.create(
        user=maria, telegram_id=5_000_000_001, first_name="Марія", username="maria_iv", language_code="uk"
    )
    identity.objects.create(user=oleh, telegram_id=222, first_name="Олег", language_code="en", blocked_at=BLOCKED_AT)
    identity.objects.filter(telegram_id=5_000_000_001).update(created_at=FIRST_CONTACT)
    account = apps.get_model("accounts", "PersonalAccount").objects.create(number="123456789")
    apps.get_model("accounts", "AccountLink").objects.create(user=maria, account=account, reminders_enabled=False)
    meter = apps.get_model("accounts", "Meter").objects.create(account=account, serial="AB123", zones=1, digits=6)
    apps.get_model("readings", "Reading").objects.create(
        meter=meter,
        period=dt.date(2026, 11, 1),
        value1=9000,
        status="needs_review",
        channel="telegram",
        submitted_by=maria,
        submitted_at=BLOCKED_AT,
        chat_id=5_000_000_001,
    )
    apps.get_model("readings", "Reading").objects.create(
        meter=meter, period=dt.date(2026, 10, 1), value1=1000, status="accepted", channel="web", submitted_at=BLOCKED_AT
    )
    apps.get_model("botbridge", "ConversationState").objects.create(
        channel="telegram", user_key="5000000001", state="Linking:serial", data={"number": "123456789"}
    )
    broadcasts = apps.get_model("botbridge", "Broadcast").objects
    broadcast = broadcasts.create(kind="window_opens", period=dt.date(2026, 11, 1))
    apps.get_model("botbridge", "Delivery").objects.create(
        broadcast=broadcast, chat_id=5_000_000_001, text="Вікно відкрито", status="sent"
    )
    apps.get_model("botbridge", "Delivery").objects.create(
        broadcast=broadcast, chat_id=222, text="Window open", status="blocked"
    )


@pytest.mark.django_db(transaction=True)
def test_telegram_users_keep_their_accounts_conversations_and_blocked_flags():
    try:
        seed_before(migrate_to(*BEFORE))
        apps = migrate_to(*AFTER)
        identities = apps.get_model("accounts", "ChannelIdentity").objects.select_related("user")
        maria = identities.get(channel="telegram", external_id="5000000001")
        assert (maria.user.username, maria.display_name, maria.username, maria.language_code) == (
            "tg5000000001",
            "Марія",
            "maria_iv",
            "uk",
        )
        assert (maria.blocked_at, maria.created_at) == (None, FIRST_CONTACT)
        oleh = identities.get(channel="telegram", external_id="222")
        assert (oleh.user.username, oleh.language_code, oleh.blocked_at) == ("tg222", "en", BLOCKED_AT)
        links = apps.get_model("accounts", "AccountLink").objects.all()
        assert [(link.user_id, link.account.number, link.reminders_enabled) for link in links] == [
            (maria.user_id, "123456789", False)
        ]
        conversation = apps.get_model("botbridge", "ConversationState").objects.get()
        assert (conversation.channel, conversation.user_key, conversation.state) == (
            "telegram",
            maria.external_id,
            "Linking:serial",
        )
        readings = apps.get_model("readings", "Reading").objects.order_by("period")
        assert [(r.channel, r.channel_user_key, r.submitted_by_id) for r in readings] == [
            ("web", "", None),
            ("telegram", "5000000001", maria.user_id),
        ]
        deliveries = apps.get_model("botbridge", "Delivery").objects.order_by("recipient_key")
        assert [(d.channel, d.recipient_key, d.status) for d in deliveries] == [
            ("telegram", "222", "blocked"),
            ("telegram", "5000000001", "sent"),
        ]
    finally:
        call_command("migrate", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_the_move_can_be_undone():
    try:
        seed_before(migrate_to(*BEFORE))
        migrate_to(*AFTER)
        apps = migrate_to(*BEFORE)
        identities = apps.get_model("accounts", "TelegramIdentity").objects.order_by("telegram_id")
        assert [(i.telegram_id, i.first_name, i.blocked_at) for i in identities] == [
            (222, "Олег", BLOCKED_AT),
            (5_000_000_001, "Марія", None),
        ]
        assert sorted(apps.get_model("botbridge", "Delivery").objects.values_list("chat_id", flat=True)) == [
            222,
            5_000_000_001,
        ]
        reading = apps.get_model("readings", "Reading").objects.get(channel="telegram")
        assert reading.chat_id == 5_000_000_001
    finally:
        call_command("migrate", verbosity=0)
