from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import Count

from accounts.linking import account_link
from accounts.models import Meter, PersonalAccount, User
from readings.models import Reading

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    with time_machine.travel("2026-11-24 12:00Z", tick=False):
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_demo_data_has_every_meter_kind_two_years_of_history_and_a_staff_login(settings):
    settings.DEBUG = True
    out = seed("--accounts", "10")
    assert PersonalAccount.objects.count() == 10
    assert set(Meter.objects.values_list("zones", flat=True)) == {1, 2, 3}
    staff = User.objects.get(username="staff")
    assert staff.is_staff and staff.check_password("pokaznyk-demo")
    assert "staff / pokaznyk-demo" in out
    per_meter = Reading.objects.filter(meter__is_active=True).values("meter").annotate(n=Count("id"))
    assert min(row["n"] for row in per_meter) >= 8  # the replaced meter's successor has ~8 months
    assert max(row["n"] for row in per_meter) == 24
    assert Meter.objects.filter(is_active=False).get().readings.count() >= 12  # the replaced meter's history


def test_the_demo_resident_signs_in_to_the_cabinet_and_sees_three_kinds_of_meter(settings, client):
    settings.DEBUG = True
    out = seed("--accounts", "10")
    assert "resident@example.com / pokaznyk-demo" in out
    assert client.post("/signin/", {"username": "resident@example.com", "password": "pokaznyk-demo"}).status_code == 302
    html = client.get("/").content.decode()
    for kind in ("однозонний", "двозонний (день/ніч)", "тризонний (пік/напівпік/ніч)"):
        assert kind in html


def test_the_printed_pairs_link(settings):
    settings.DEBUG = True
    out = seed("--accounts", "10")
    pairs = [line.split()[:3] for line in out.splitlines() if line.startswith("  ")]
    assert len(pairs) == 6
    user = User.objects.create_user("tester")
    for number, _slash, serial in pairs:
        account_link(user=user, account_number=number, meter_serial=serial)


def test_if_empty_leaves_an_existing_database_alone(settings):
    settings.DEBUG = True
    seed("--accounts", "3")
    before = Reading.objects.count()
    assert "already has accounts" in seed("--if-empty")
    assert Reading.objects.count() == before


def test_refused_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=1"):
        seed()
    assert not User.objects.exists()
