from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db.models import Count

from accounts.linking import account_link
from accounts.masterdata import MasterDataRow, master_data_import
from accounts.models import AccountLink, Meter, PersonalAccount, User
from readings.models import Reading

pytestmark = pytest.mark.django_db

SEEDED = "2026-11-24 12:00Z"
IN_WINDOW = "2026-11-28 12:00Z"  # the window for 01.12.2026 is 27.11–03.12


def seed(*args: str) -> str:
    out = StringIO()
    with time_machine.travel(SEEDED, tick=False):
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def printed_pairs(out: str) -> list[tuple[str, str, str]]:
    """The account / meter pairs printed after their heading: (number, serial, the last reading printed)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Account / meter pairs"))
    pairs = []
    for line in lines[start + 1 :]:
        number, _slash, serial = line.split()[:3]
        pairs.append((number, serial, line.split("last reading ")[1].split(",")[0]))
    return pairs


def admin_sign_in(client, username: str) -> None:
    response = client.post("/admin/login/", {"username": username, "password": "pokaznyk-demo", "next": "/admin/"})
    assert response.status_code == 302, f"{username} could not sign in to admin"


def test_demo_data_has_every_meter_kind_and_two_years_of_history(settings):
    settings.DEBUG = True
    out = seed("--accounts", "10")
    assert "Demo data: 10 accounts" in out
    assert PersonalAccount.objects.count() == 10
    assert set(Meter.objects.values_list("zones", flat=True)) == {1, 2, 3}
    per_meter = Reading.objects.filter(meter__is_active=True).values("meter").annotate(n=Count("id"))
    assert min(row["n"] for row in per_meter) >= 8  # the replaced meter's successor has ~8 months
    assert max(row["n"] for row in per_meter) == 24
    assert Meter.objects.filter(is_active=False).get().readings.count() >= 12  # the replaced meter's history


def test_the_printed_staff_logins_sign_in_to_admin_each_with_its_role(settings, client):
    settings.DEBUG = True
    out = seed("--accounts", "3")
    for username in ("admin", "operator", "supervisor"):
        assert f"  {username} / pokaznyk-demo" in out
    upload = "/admin/accounts/masterdataupload/add/"  # supervisors only
    review = "/admin/readings/readingforreview/"  # operators and supervisors

    admin_sign_in(client, "operator")
    assert client.get(review).status_code == 200
    assert client.get(upload).status_code == 403
    client.logout()
    admin_sign_in(client, "supervisor")
    assert client.get(review).status_code == 200
    assert client.get(upload).status_code == 200
    assert not User.objects.get(username="supervisor").is_superuser
    client.logout()
    admin_sign_in(client, "admin")
    assert client.get(upload).status_code == 200


def test_the_demo_resident_signs_in_to_the_cabinet_and_sees_three_kinds_of_meter(settings, client):
    settings.DEBUG = True
    out = seed("--accounts", "10")
    assert "resident@example.com / pokaznyk-demo" in out
    assert client.post("/signin/", {"username": "resident@example.com", "password": "pokaznyk-demo"}).status_code == 302
    html = client.get("/").content.decode()
    for kind in ("однозонний", "двозонний (день/ніч)", "тризонний (пік/напівпік/ніч)"):
        assert kind in html


def test_every_printed_pair_is_unlinked_and_works_in_add_account_and_the_quick_form(settings, client):
    settings.DEBUG = True
    pairs = printed_pairs(seed("--accounts", "15"))
    assert len(pairs) == 6  # two of each kind
    assert not AccountLink.objects.filter(account__number__in=[number for number, _s, _v in pairs]).exists()
    for number, serial, last in pairs:
        reading = "/".join(str(int(value) + 100) for value in last.split("/"))  # a month's use above the last
        with time_machine.travel(IN_WINDOW, tick=False):
            response = client.post("/quick/", {"account_number": number, "meter_serial": serial, "reading": reading})
        assert response.status_code == 302, response.content.decode()[:2000]
        assert Reading.objects.filter(meter__serial=serial, channel="quick", status="accepted").exists()

    client.post("/signup/", {"email": "tester@example.com", "password1": "a-long-pass-9", "password2": "a-long-pass-9"})
    for number, serial, _last in pairs:
        response = client.post("/link/", {"account_number": number, "meter_serial": serial})
        assert response.status_code == 302, response.content.decode()[:2000]
    html = client.get("/").content.decode()
    assert all(number in html for number, _s, _v in pairs)


def test_if_empty_on_a_seeded_database_prints_the_logins_and_fresh_unlinked_pairs(settings):
    settings.DEBUG = True
    first = seed("--accounts", "15")
    before = Reading.objects.count()
    number, serial, _last = printed_pairs(first)[0]
    account_link(user=User.objects.create_user("neighbour"), account_number=number, meter_serial=serial)

    again = seed("--if-empty")
    assert "already has accounts" in again
    assert Reading.objects.count() == before
    assert "resident@example.com / pokaznyk-demo" in again
    assert "  supervisor / pokaznyk-demo" in again
    pairs = printed_pairs(again)
    assert len(pairs) == 6
    assert (number, serial) not in [(n, s) for n, s, _v in pairs]  # now linked: not offered again
    assert not AccountLink.objects.filter(account__number__in=[n for n, _s, _v in pairs]).exists()


def test_if_empty_gives_a_database_seeded_before_the_roles_its_role_logins(settings):
    settings.DEBUG = True
    seed("--accounts", "3")
    User.objects.filter(username__in=["operator", "supervisor"]).delete()
    out = seed("--if-empty")
    assert User.objects.get(username="operator").groups.get().name == "operator"
    assert "  operator / pokaznyk-demo" in out


def test_if_empty_on_a_database_not_seeded_by_it_says_there_are_no_demo_logins(settings):
    settings.DEBUG = True
    master_data_import(rows=[MasterDataRow(account_number="123456789", meter_serial="X1", zones=1, digits=6)])
    out = seed("--if-empty")
    assert "no demo logins" in out
    assert "pokaznyk-demo" not in out
    assert not User.objects.exists()


def test_refused_in_production(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=1"):
        seed()
    assert not User.objects.exists()
