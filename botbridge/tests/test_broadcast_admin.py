"""Broadcasts in admin: progress per broadcast, and an announcement through the same pipeline."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts.identities import channel_identity_resolve
from accounts.tests.factories import UserFactory
from botbridge import services
from botbridge.models import Broadcast, Delivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(username="staff", is_staff=True, is_superuser=True))
    return client


def test_the_broadcast_list_shows_each_broadcasts_progress(staff_client):
    broadcast = services.broadcast_start(kind=Broadcast.Kind.WINDOW_OPENS, period=dt.date(2026, 12, 1))
    statuses = ["sent"] * 3 + ["blocked"] + ["queued"] * 2
    Delivery.objects.bulk_create(
        Delivery(broadcast=broadcast, channel="telegram", recipient_key=str(chat_id), text="…", status=status)
        for chat_id, status in enumerate(statuses, start=1)
    )
    page = staff_client.get(reverse("admin:botbridge_broadcast_changelist")).content.decode()
    assert "Розсилки" in page or "розсилки" in page
    row = page[page.index("початок прийому показань") :]
    cells = [cell.split(">", 1)[1].split("<", 1)[0] for cell in row.split('<td class="field-column')[1:7]]
    assert cells == ["2", "0", "3", "0", "1", "0"]  # queued, sending, sent, failed, blocked, interrupted


def test_staff_send_an_announcement_to_every_bot_user(staff_client, django_capture_on_commit_callbacks):
    for telegram_id in (11, 12):
        channel_identity_resolve(channel="telegram", external_id=str(telegram_id), display_name="Марія")
    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(
            reverse("admin:botbridge_broadcast_add"), {"text": "  Планові роботи 05.12: прийом показань працює.  "}
        )
    assert response.status_code == 302
    announcement = Broadcast.objects.get()
    assert (announcement.kind, announcement.text) == ("announcement", "Планові роботи 05.12: прийом показань працює.")
    assert announcement.created_by.username == "staff"
    assert len(callbacks) == 1  # the fill task is queued once the broadcast is committed
    services.broadcast_fill(broadcast_id=announcement.pk)
    assert set(announcement.deliveries.values_list("recipient_key", flat=True)) == {"11", "12"}


def test_an_empty_or_too_long_announcement_is_refused_with_a_reason(staff_client):
    url = reverse("admin:botbridge_broadcast_add")
    assert "Оголошення порожнє" in staff_client.post(url, {"text": "   "}).content.decode()
    page = staff_client.post(url, {"text": "я" * 4097}).content.decode()
    assert "4097" in page and "4096" in page
    assert not Broadcast.objects.exists()
