"""0008-0010: readings sent before receipts existed get one each, and a resend knows what it replaced."""

import datetime as dt
import re

import pytest
from django.core.management import call_command

from accounts.tests.factories import MeterFactory
from conftest import kyiv, migrate_to

BEFORE, AFTER = ("readings", "0009_export_batches"), ("readings", "0012_reading_receipt_required")


@pytest.mark.django_db(transaction=True)
def test_old_readings_get_receipts_and_a_resend_its_predecessor():
    try:
        meter = MeterFactory(initial_values=[1000])
        old = migrate_to(BEFORE).get_model("readings", "Reading")
        december = dt.date(2026, 12, 1)

        def reading(value, status, day):
            return old.objects.create(
                meter_id=meter.pk,
                period=december,
                value1=value,
                status=status,
                channel="web",
                submitted_at=kyiv(2026, 11, day),
            ).pk

        first = reading(1100, "superseded", 27)
        second = reading(1150, "superseded", 28)
        third = reading(1160, "accepted", 29)
        control = reading(1050, "control", 20)
        new = migrate_to(AFTER).get_model("readings", "Reading")
        codes = dict(new.objects.values_list("pk", "receipt"))
        assert all(re.fullmatch(r"\d{8}", code) for code in codes.values())
        assert len(set(codes.values())) == 4
        replaces = dict(new.objects.values_list("pk", "replaces"))
        assert replaces == {first: None, second: first, third: second, control: None}
    finally:
        call_command("migrate", verbosity=0)
