"""Staff pages in admin: the export for billing and the calendar with the windows it gives."""

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.tests.factories import MeterFactory, UserFactory
from conftest import kyiv
from readings.models import CalendarOverride
from readings.services import reading_submit

pytestmark = pytest.mark.django_db


def staff_client(client, role: str):
    user = UserFactory(username=role, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


def test_a_supervisor_exports_the_period_as_csv_and_xlsx(client):
    meter = MeterFactory(zones=2, initial_values=[10, 20])
    reading_submit(meter=meter, text="15/25", channel="web", submitted_at=kyiv(2026, 11, 28))
    staff_client(client, "supervisor")
    url = reverse("admin:readings_reading_export")
    assert "Вивантаження для білінгу" in client.get(url).content.decode()
    response = client.get(url, {"period": "2026-12-01", "format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["account_number", "eic", "meter_serial"]
    assert rows[1][0] == meter.account.number and rows[1][4:6] == ["15", "25"]
    response = client.get(url, {"period": "2026-12-01", "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert [cell.value for cell in sheet[2]][4:6] == [15, 25]


def test_a_period_that_is_not_a_1st_is_refused_with_a_reason(client):
    staff_client(client, "supervisor")
    page = client.get(reverse("admin:readings_reading_export"), {"period": "2026-12-05", "format": "csv"})
    assert "Укажіть період як 1-ше число місяця" in page.content.decode()


def test_an_operator_may_not_export(client):
    staff_client(client, "operator")
    assert client.get(reverse("admin:readings_reading_export")).status_code == 403
    assert "Вивантаження для білінгу" not in client.get(reverse("admin:readings_reading_changelist")).content.decode()


def test_the_calendar_shows_the_next_three_windows_with_the_overrides(client):
    staff_client(client, "supervisor")
    with time_machine.travel(kyiv(2026, 11, 24), tick=False):
        page = client.get(reverse("admin:readings_calendaroverride_changelist")).content.decode()
        assert "27.11.2026" in page and "03.12.2026" in page  # December's window
        assert "30.12.2026" in page and "05.01.2027" in page  # January's
        # Staff make Friday 27.11 a day off: December's window starts on Thursday 26.11 instead.
        CalendarOverride.objects.create(date=dt.date(2026, 11, 27), is_working=False, note="test")
        page = client.get(reverse("admin:readings_calendaroverride_changelist")).content.decode()
    assert "26.11.2026" in page


def test_the_window_dashboard_counts_a_known_day_by_day(client):
    web, bot, control, held = (MeterFactory(initial_values=[1000]) for _ in range(4))
    MeterFactory(account__is_active=False)
    reading_submit(meter=web, text="1100", channel="web", submitted_at=kyiv(2026, 11, 27, 10))
    reading_submit(meter=bot, text="1100", channel="telegram", submitted_at=kyiv(2026, 11, 27, 18))
    reading_submit(meter=bot, text="1150", channel="api", submitted_at=kyiv(2026, 11, 30, 9))  # supersedes
    reading_submit(meter=control, text="1050", channel="web", submitted_at=kyiv(2026, 11, 24, 9))
    reading_submit(meter=held, text="9000", channel="phone", submitted_at=kyiv(2026, 12, 2, 9), confirm=True)
    staff_client(client, "operator")
    with time_machine.travel(kyiv(2026, 12, 2, 12), tick=False):
        page = client.get(reverse("admin:readings_reading_dashboard")).content.decode()
    assert '<strong data-figure="accounts">3</strong> / 4' in page
    assert '<strong data-figure="share">75.0</strong>' in page or '<strong data-figure="share">75,0</strong>' in page
    assert '<strong data-figure="control">1</strong>' in page
    assert '<strong data-figure="reviews">1</strong>' in page
    rows = {
        day: row.split("</tr>")[0] for day, row in (part.split('">', 1) for part in page.split('<tr data-day="')[1:])
    }
    assert len(rows) == 7  # 27.11 … 03.12
    cells = {day: [c.split("<")[0] for c in row.split("<td>")[2:]] for day, row in rows.items()}
    # Channels in the order shown: api, phone, telegram, web; then the total.
    assert cells["2026-11-27"][:5] == ["0", "0", "1", "1", "2"]
    assert cells["2026-11-30"][:5] == ["1", "0", "0", "0", "1"]
    assert cells["2026-12-02"][:5] == ["0", "1", "0", "0", "1"]
    assert cells["2026-11-28"][:5] == ["0", "0", "0", "0", "0"]


def test_the_dashboard_shows_every_channel_in_a_colour_of_its_own(client):
    """A window with readings from all nine channels (Viber, Messenger and the quick form among them)."""
    from readings.models import Reading

    for channel in Reading.Channel.values:
        reading_submit(
            meter=MeterFactory(initial_values=[1000]), text="1100", channel=channel, submitted_at=kyiv(2026, 11, 27)
        )
    staff_client(client, "operator")
    with time_machine.travel(kyiv(2026, 11, 28, 12), tick=False):
        response = client.get(reverse("admin:readings_reading_dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<strong data-figure="accounts">9</strong> / 9' in page
    for name in ("Telegram", "Viber", "Messenger", "телефон", "швидка форма"):
        assert name in page
    legend = page.split('<tr data-day="')[0]
    colours = re.findall(r"background:(#[0-9a-f]{6})", legend)
    assert len(colours) == len(set(colours)) == 9


def test_the_readings_list_takes_the_same_queries_for_10_rows_as_for_100(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    staff_client(client, "operator")

    def add(count):
        for _ in range(count):
            meter = MeterFactory(zones=2, initial_values=[10, 20])
            reading_submit(meter=meter, text="15/25", channel="web", submitted_at=kyiv(2026, 11, 28))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("admin:readings_reading_changelist")).status_code == 200
        return len(captured)

    add(10)
    few = queries()
    add(90)
    assert queries() == few


@pytest.mark.parametrize("period", ["0001-01-01", "9999-12-01", "1999-12-01", "2101-01-01"])
def test_the_dashboard_refuses_a_period_outside_the_reckoned_years_with_a_reason(client, period):
    staff_client(client, "operator")
    page = client.get(reverse("admin:readings_reading_dashboard"), {"period": period})
    assert page.status_code == 400
    assert "Укажіть дату від 2000-01-01 до 2100-12-31." in page.content.decode()
    assert 'data-figure="accounts"' in page.content.decode()  # and the current window's figures


@pytest.mark.parametrize(
    "query",
    [
        {"period__year": "9999"},
        {"period__year": "9999", "period__month": "12"},
        {"period__year": "9999", "period__month": "12", "period__day": "31"},
        {"period__year": "1", "period__month": "1", "period__day": "1"},
    ],
)
def test_the_readings_list_takes_extreme_dates_in_its_date_drilldown(client, query):
    staff_client(client, "operator")
    page = client.get(reverse("admin:readings_reading_changelist"), query)
    assert page.status_code in (200, 302)


@pytest.mark.parametrize(
    ("today", "period", "label"),
    [
        # Before December's window opens, and while it is open: December's readings.
        (kyiv(2026, 11, 24), "2026-12-01", "Показання на 01.12.2026 — споживання за листопад 2026"),
        (kyiv(2026, 12, 2), "2026-12-01", "Показання на 01.12.2026 — споживання за листопад 2026"),
        # After it closed, January's is the window staff are waiting for.
        (kyiv(2026, 12, 10), "2027-01-01", "Показання на 01.01.2027 — споживання за грудень 2026"),
    ],
)
def test_the_period_pickers_offer_months_and_start_at_the_current_window(client, today, period, label):
    staff_client(client, "supervisor")
    with time_machine.travel(today, tick=False):
        export_page = client.get(reverse("admin:readings_reading_export")).content.decode()
        dashboard = client.get(reverse("admin:readings_reading_dashboard")).content.decode()
    for page in (export_page, dashboard):
        assert f'<option value="{period}" selected>{label}</option>' in page
        assert 'type="date"' not in page  # no day to pick: a period is always a 1st
        assert page.count('<option value="20') == 26  # two years back and the window after


def test_the_export_takes_the_picked_month(client):
    meter = MeterFactory()
    reading_submit(meter=meter, text="1100", channel="web", submitted_at=kyiv(2026, 11, 28))
    staff_client(client, "supervisor")
    response = client.get(reverse("admin:readings_reading_export"), {"period": "2026-12-01", "format": "csv"})
    assert response["Content-Disposition"].startswith('attachment; filename="readings-2026-12-')


ENGLISH_LEFTOVERS = re.compile(
    # Field labels ("Meter:") and column headings ("Meter</a>") Django made from unnamed fields,
    # knox's names, the calendar's own words, and Django's screen-reader texts it has no Ukrainian for.
    r">\s*(?:Meter|Uploaded by|Submitted by|Account|User)\s*:?\s*<"
    r"|day off|working\)|Auth tokens?|Knox|Model name|Add link|Change or view list link"
)


def english_leftovers(page: str) -> list[str]:
    return ENGLISH_LEFTOVERS.findall(page)


def test_the_ukrainian_admin_has_no_english_leftovers(client):
    from readings.tests.test_review import held_reading

    reading = held_reading()
    staff_client(client, "supervisor")
    with time_machine.travel(kyiv(2026, 11, 24), tick=False):
        added = client.post(
            reverse("admin:readings_calendaroverride_add"),
            {"date": "2027-03-09", "note": "", "_save": "Зберегти"},
            follow=True,
        ).content.decode()
        pages = {"calendar override added": added} | {
            url: client.get(url, follow=True).content.decode()
            for url in (
                reverse("admin:index"),
                reverse("admin:readings_readingforreview_changelist"),
                reverse("admin:readings_reading_changelist"),
                reverse("admin:readings_reading_change", args=[reading.pk]),
                reverse("admin:readings_calendaroverride_changelist"),
                reverse("admin:accounts_meter_changelist"),
                reverse("admin:accounts_meter_change", args=[reading.meter.pk]),
                reverse("admin:accounts_channelidentity_changelist"),
                reverse("admin:accounts_accountlink_changelist"),
                reverse("admin:knox_authtoken_add"),
            )
        }
    assert {url: english_leftovers(page) for url, page in pages.items() if english_leftovers(page)} == {}
    review_queue = pages[reverse("admin:readings_readingforreview_changelist")]
    assert "Рахунок, лічильник" in review_queue or "рахунок, лічильник" in review_queue
    assert "Хто надіслав" in pages[reverse("admin:readings_reading_change", args=[reading.pk])]
    assert '09.03.2027 (вихідний)</a>" було додано успішно.' in added
    assert "Токени API" in pages[reverse("admin:index")]


def test_staff_who_chose_english_get_the_admin_in_english(client):
    from readings.tests.test_review import held_reading

    held_reading()
    staff_client(client, "operator")
    client.cookies["django_language"] = "en"
    page = client.get(reverse("admin:readings_readingforreview_changelist")).content.decode()
    assert "Account, meter" in page and "Approve the selected readings" in page
    assert "Рахунок" not in page
