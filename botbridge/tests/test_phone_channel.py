"""The voice menu's readings are channel `phone` (they were `ivr`), old ones included."""

import datetime as dt

import pytest
from django.core.management import call_command

from conftest import migrate_to

BEFORE, AFTER = ("readings", "0006_channel_user_key"), ("readings", "0007_channel_phone")


@pytest.mark.django_db(transaction=True)
def test_readings_sent_by_the_voice_menu_before_are_phone_readings_and_back():
    try:
        old = migrate_to(BEFORE)
        account = old.get_model("accounts", "PersonalAccount").objects.create(number="123456789", address="")
        meter = old.get_model("accounts", "Meter").objects.create(
            account=account, serial="AB123", zones=1, digits=6, initial_values=[1000]
        )
        sent = dt.datetime(2026, 10, 28, 10, tzinfo=dt.UTC)
        for channel in ("ivr", "web"):
            old.get_model("readings", "Reading").objects.create(
                meter=meter, period=dt.date(2026, 11, 1), value1=1100, status="superseded", channel=channel,
                submitted_at=sent,
            )  # fmt: skip
        old.get_model("readings", "HistoricalReading").objects.create(
            id=1, meter_id=meter.pk, period=dt.date(2026, 11, 1), value1=1100, status="superseded", channel="ivr",
            submitted_at=sent, history_date=sent, history_type="+",
        )  # fmt: skip
        new = migrate_to(AFTER)
        assert sorted(new.get_model("readings", "Reading").objects.values_list("channel", flat=True)) == [
            "phone",
            "web",
        ]
        assert list(new.get_model("readings", "HistoricalReading").objects.values_list("channel", flat=True)) == [
            "phone"
        ]
        back = migrate_to(BEFORE)
        assert sorted(back.get_model("readings", "Reading").objects.values_list("channel", flat=True)) == ["ivr", "web"]
    finally:
        call_command("migrate", verbosity=0)
