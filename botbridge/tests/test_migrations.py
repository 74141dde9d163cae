"""The move of conversation state from aiogram's storage key to (channel, user key)."""

import datetime as dt

import pytest
from django.core.management import call_command

from conftest import migrate_to

BEFORE, AFTER = ("botbridge", "0003_notices"), ("botbridge", "0004_conversation_per_channel")


@pytest.mark.django_db(transaction=True)
def test_a_resident_midway_stays_at_their_step():
    try:
        old = migrate_to(BEFORE).get_model("botbridge", "ConversationState")
        old.objects.create(key="fsm:7000001:111:111:default", state="Linking:serial", data={"number": "123456789"})
        old.objects.create(key="fsm:7000001:222:222:default", state="", data={})
        new = migrate_to(AFTER).get_model("botbridge", "ConversationState")
        rows = set(new.objects.values_list("channel", "user_key", "state"))
        assert rows == {("telegram", "111", "Linking:serial"), ("telegram", "222", "")}
        assert new.objects.get(user_key="111").data == {"number": "123456789"}
    finally:
        call_command("migrate", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_telegram_updates_already_taken_stay_taken_in_the_events_table():
    try:
        old = migrate_to(("botbridge", "0005_delivery_recipient")).get_model("botbridge", "ProcessedUpdate")
        row = old.objects.create(bot_id=7000001, update_id=123456789)
        two_days_ago = row.received_at - dt.timedelta(days=2)
        old.objects.filter(pk=row.pk).update(received_at=two_days_ago)
        new = migrate_to(("botbridge", "0006_processed_events")).get_model("botbridge", "ProcessedEvent")
        assert list(new.objects.values_list("channel", "key", "received_at")) == [
            ("telegram", "7000001:123456789", two_days_ago)
        ]
        back = migrate_to(("botbridge", "0005_delivery_recipient")).get_model("botbridge", "ProcessedUpdate")
        assert list(back.objects.values_list("bot_id", "update_id")) == [(7000001, 123456789)]
    finally:
        call_command("migrate", verbosity=0)
