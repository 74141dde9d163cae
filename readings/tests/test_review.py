"""Staff review: the queue in admin, approve and reject, the resident told, roles and the audit trail."""

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.identities import channel_identity_resolve
from accounts.masterdata import MasterDataRow, master_data_import
from accounts.models import AccountLink, PersonalAccount
from accounts.tests.factories import MeterFactory, UserFactory
from botbridge import sending
from conftest import kyiv
from readings.errors import ReviewNotPending, ReviewReasonRequired
from readings.models import Reading
from readings.services import reading_approve, reading_reject, reading_submit

pytestmark = pytest.mark.django_db

IN_WINDOW = kyiv(2026, 12, 1, 10)


def staff(role: str):
    user = UserFactory(username=role, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def operator_client(client):
    client.force_login(staff("operator"))
    return client


def held_reading(channel="telegram", chat_id=555, text="9000"):
    """A reading far above the usual, confirmed by the resident: held for review."""
    meter = MeterFactory(initial_values=[1000])
    user = channel_identity_resolve(
        channel="telegram", external_id=str(chat_id), display_name="Марія", language_code="uk"
    )
    AccountLink.objects.create(user=user, account=meter.account)
    with time_machine.travel(IN_WINDOW, tick=False):
        return reading_submit(
            meter=meter,
            text=text,
            channel=channel,
            channel_user_key=str(chat_id) if channel == "telegram" else "",
            submitted_by=user,
            confirm=True,
        )


def action(client, name: str, readings, **extra):
    url = reverse("admin:readings_readingforreview_changelist")
    return client.post(url, {"action": name, "_selected_action": [r.pk for r in readings], **extra})


def test_the_queue_lists_held_readings_with_the_previous_one_beside(operator_client):
    meter = MeterFactory(initial_values=[1000])
    with time_machine.travel(kyiv(2026, 10, 30), tick=False):
        reading_submit(meter=meter, text="1200", channel="web")
    with time_machine.travel(IN_WINDOW, tick=False):
        reading_submit(meter=meter, text="9500", channel="web", confirm=True)
        MeterFactory()  # an account with nothing to review
    page = operator_client.get(reverse("admin:readings_readingforreview_changelist")).content.decode()
    assert "9500" in page
    assert '1200<br><span class="quiet">на 01.11.2026</span>' in page
    assert page.count('name="_selected_action"') == 1


def test_approving_tells_the_resident_in_the_bot(
    operator_client, bot_settings, fake_bot_api, eager_celery, django_capture_on_commit_callbacks
):
    reading = held_reading()
    fake_bot_api.add_chat(555)
    with django_capture_on_commit_callbacks(execute=True):
        response = action(operator_client, "approve_selected", [reading])
    assert response.status_code == 302
    sending.deliveries_send(channel="telegram")
    reading.refresh_from_db()
    assert (reading.status, reading.reviewed_by.username) == ("accepted", "operator")
    (message,) = fake_bot_api.sent_messages(555)
    assert "перевірили ваші показання 9000" in message.params["text"]
    assert "прийнято" in message.params["text"]


def test_rejecting_asks_for_a_reason_and_the_resident_reads_it(
    operator_client, bot_settings, fake_bot_api, eager_celery, django_capture_on_commit_callbacks
):
    reading = held_reading()
    fake_bot_api.add_chat(555)
    form = action(operator_client, "reject_selected", [reading])
    assert "Причина, яку прочитає мешканець" in form.content.decode()
    reading.refresh_from_db()
    assert reading.status == "needs_review"  # nothing decided before the reason is given
    with django_capture_on_commit_callbacks(execute=True):
        action(operator_client, "reject_selected", [reading], apply="1", reason="На фото лічильника 1900, а не 9000.")
    sending.deliveries_send(channel="telegram")
    reading.refresh_from_db()
    assert (reading.status, reading.review_note) == ("rejected", "На фото лічильника 1900, а не 9000.")
    (message,) = fake_bot_api.sent_messages(555)
    assert "відхилили їх: На фото лічильника 1900, а не 9000." in message.params["text"]


def test_a_reading_decided_already_is_left_alone(operator_client):
    reading = held_reading()
    reviewer = UserFactory(username="second")
    reading_approve(reading_id=reading.pk, reviewed_by=reviewer)
    with pytest.raises(ReviewNotPending) as refused:
        reading_reject(reading_id=reading.pk, reviewed_by=reviewer, reason="late")
    assert "прийнято" in refused.value.message
    reading.refresh_from_db()
    assert reading.status == "accepted"
    with pytest.raises(ReviewReasonRequired):
        reading_reject(reading_id=held_reading(chat_id=556).pk, reviewed_by=reviewer, reason="   ")


def test_a_rejected_web_reading_shows_its_reason_in_the_cabinet(client, django_capture_on_commit_callbacks):
    reading = held_reading(channel="web")
    client.force_login(staff("supervisor"))
    action(client, "reject_selected", [reading], apply="1", reason="Не та зона.")
    client.force_login(reading.submitted_by)
    with time_machine.travel(IN_WINDOW, tick=False):
        page = client.get(f"/accounts/{reading.meter.account.number}/history/").content.decode()
    assert "Відхилено фахівцями. Причина: Не та зона." in page


@pytest.mark.parametrize(
    ("url", "operator", "supervisor"),
    [
        ("admin:readings_readingforreview_changelist", 200, 200),
        ("admin:readings_reading_changelist", 200, 200),
        ("admin:accounts_accountlink_changelist", 200, 200),
        ("admin:accounts_masterdataupload_add", 403, 200),
        ("admin:readings_calendaroverride_add", 403, 200),
        ("admin:botbridge_broadcast_add", 403, 200),
        ("admin:knox_authtoken_add", 403, 200),
    ],
)
def test_each_role_gets_its_pages_and_not_the_others(client, url, operator, supervisor):
    for role, expected in (("operator", operator), ("supervisor", supervisor)):
        client.force_login(staff(role))
        assert client.get(reverse(url)).status_code == expected, role


def test_a_resident_gets_no_admin(client):
    client.force_login(UserFactory())
    assert client.get(reverse("admin:readings_readingforreview_changelist")).status_code == 302


def test_the_audit_trail_says_who_changed_a_reading_and_what(operator_client):
    reading = held_reading()
    action(operator_client, "approve_selected", [reading])
    history = list(Reading.history.filter(id=reading.pk).order_by("history_id"))
    assert [(h.status, h.history_user.username) for h in history] == [
        ("needs_review", "tg555"),
        ("accepted", "operator"),
    ]
    page = operator_client.get(reverse("admin:readings_reading_history", args=[reading.pk])).content.decode()
    assert "operator" in page


def test_a_master_data_import_leaves_an_audit_trail():
    row = MasterDataRow(account_number="123456789", meter_serial="AB1", zones=1, digits=6, address="вул. Соборна, 1")
    master_data_import(rows=[row])
    master_data_import(rows=[MasterDataRow(**{**row.__dict__, "address": "вул. Соборна, 2"})])
    account = PersonalAccount.objects.get()
    assert [(h.history_type, h.address) for h in account.history.order_by("history_id")] == [
        ("+", "вул. Соборна, 1"),
        ("~", "вул. Соборна, 2"),
    ]


def test_an_empty_reason_is_refused_by_the_server_in_ukrainian_and_nothing_is_rejected(operator_client):
    reading = held_reading()
    form = action(operator_client, "reject_selected", [reading]).content.decode()
    # No browser-side check: its message would be in the browser's language, not the staff's.
    assert '<form method="post" novalidate>' in form and " required" not in form.split("<form")[-1]
    refused = action(operator_client, "reject_selected", [reading], apply="1", reason="   ")
    assert refused.status_code == 400
    assert "Вкажіть, чому показання відхилено: мешканець прочитає причину." in refused.content.decode()
    reading.refresh_from_db()
    assert (reading.status, reading.review_note) == ("needs_review", "")


def test_the_reject_page_has_a_way_back_that_rejects_nothing(operator_client):
    reading = held_reading()
    form = action(operator_client, "reject_selected", [reading]).content.decode()
    queue = reverse("admin:readings_readingforreview_changelist")
    assert f'<a href="{queue}" class="closelink">Скасувати: нічого не відхилено</a>' in form
    operator_client.get(queue)
    reading.refresh_from_db()
    assert reading.status == "needs_review"


def test_the_decision_is_one_button_per_action_above_the_queue(operator_client):
    first, second = held_reading(), held_reading(chat_id=556)
    page = operator_client.get(reverse("admin:readings_readingforreview_changelist")).content.decode()
    assert 'data-action="approve_selected">Прийняти вибрані показання</button>' in page
    assert 'data-action="reject_selected">Відхилити вибрані показання…</button>' in page
    # What the browser sends for each button: every hidden action, and the pressed button's index.
    both = ["approve_selected", "reject_selected"]
    url = reverse("admin:readings_readingforreview_changelist")
    operator_client.post(url, {"action": both, "index": "0", "_selected_action": [first.pk]})
    form = operator_client.post(url, {"action": both, "index": "1", "_selected_action": [second.pk]})
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("accepted", "needs_review")
    assert "Причина, яку прочитає мешканець" in form.content.decode()  # the reject page asks why first
