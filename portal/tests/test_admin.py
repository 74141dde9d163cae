import pytest
from django.urls import reverse

from accounts.tests.factories import MeterFactory, UserFactory
from conftest import kyiv
from readings.services import reading_submit

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "admin:accounts_user_changelist",
    "admin:accounts_personalaccount_changelist",
    "admin:accounts_meter_changelist",
    "admin:accounts_accountlink_changelist",
    "admin:readings_reading_changelist",
    "admin:readings_calendaroverride_changelist",
    "admin:knox_authtoken_changelist",  # billing's API tokens are issued here
    "admin:accounts_channelidentity_changelist",
    "admin:accounts_masterdataupload_changelist",
    "admin:readings_readingforreview_changelist",
    "admin:botbridge_broadcast_changelist",
    "admin:botbridge_delivery_changelist",
    "admin:readings_reading_dashboard",
    "admin:readings_reading_export",
    "admin:readings_exportbatch_changelist",
]


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="staff", is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("name", CHANGELISTS)
def test_staff_see_every_list_in_ukrainian(staff_client, name):
    meter = MeterFactory(zones=2, initial_values=[10, 20])
    reading_submit(meter=meter, text="15/25", channel="web", submitted_at=kyiv(2026, 11, 28))
    response = staff_client.get(reverse(name))
    assert response.status_code == 200
    assert "Pokaznyk · Показання лічильників" in response.content.decode()


def test_readings_are_found_by_account_number_and_shown_with_their_values(staff_client):
    meter = MeterFactory(account__number="123456789", zones=2, initial_values=[10, 20])
    reading_submit(meter=meter, text="15/25", channel="web", submitted_at=kyiv(2026, 11, 28))
    page = staff_client.get(reverse("admin:readings_reading_changelist"), {"q": "123456789"}).content.decode()
    assert "15/25" in page
    assert "прийнято" in page


def test_readings_cannot_be_edited_around_the_rules(staff_client):
    assert staff_client.get(reverse("admin:readings_reading_add")).status_code == 403


def test_visitors_are_sent_to_the_login(client):
    response = client.get(reverse("admin:readings_reading_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
