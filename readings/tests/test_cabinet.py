"""The cabinet's reading pages through the test client: what a resident sees and what gets recorded."""

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from accounts.errors import AccountMeterMismatch
from accounts.models import AccountLink
from accounts.tests.factories import MeterFactory, PersonalAccountFactory, UserFactory
from conftest import kyiv
from readings import selectors
from readings.errors import (
    QuickReadingDecrease,
    QuickUnusualJumpConfirmation,
    ReadingDecimal,
    ReadingDecrease,
    TooManyQuickAttempts,
    UnusualJumpConfirmation,
)
from readings.models import Reading
from readings.services import reading_submit
from readings.window import add_months

pytestmark = pytest.mark.django_db

IN_DEC_WINDOW = kyiv(2026, 12, 2)  # window 27.11–03.12 (period 2026-12-01): 2 days left
BEFORE_DEC_WINDOW = kyiv(2026, 11, 24)


@pytest.fixture
def in_window():
    with time_machine.travel(IN_DEC_WINDOW, tick=False):
        yield


@pytest.fixture
def resident(client):
    user = UserFactory()
    client.force_login(user)
    return user


def linked_meter(user, **meter_fields):
    meter = MeterFactory(**meter_fields)
    AccountLink.objects.create(user=user, account=meter.account)
    return meter


def uk(error) -> str:
    with translation.override("uk"):
        return error.message


def page(response) -> str:
    return response.content.decode()


# --- Dashboard ------------------------------------------------------------------------


def test_the_dashboard_lists_only_the_residents_own_accounts_with_the_address_masked(client, resident, in_window):
    mine = linked_meter(resident, account=PersonalAccountFactory(address="вул. Соборна, 123, кв. 45"))
    theirs = linked_meter(UserFactory())
    response = client.get("/")
    assert response.status_code == 200
    assert mine.account.number in page(response)
    assert "вул. Соборна, 1**, кв. 4*" in page(response)
    assert "123" not in page(response).replace(mine.account.number, "")
    assert theirs.account.number not in page(response)


def test_the_dashboard_says_how_long_the_window_stays_open(client, resident, in_window):
    assert "Прийом показань: 27.11–03.12, залишилось 2 дні" in page(client.get("/"))


def test_before_the_window_the_dashboard_gives_its_dates(client, resident):
    with time_machine.travel(BEFORE_DEC_WINDOW, tick=False):
        assert "Показання приймаються 27.11–03.12" in page(client.get("/"))


def test_the_dashboard_shows_the_last_accepted_reading(client, resident):
    meter = linked_meter(resident, zones=2, initial_values=[1000, 500])
    reading_submit(meter=meter, text="1100/550", channel="web", submitted_at=kyiv(2026, 11, 28))
    with time_machine.travel(kyiv(2026, 12, 5), tick=False):
        assert "1100/550" in page(client.get("/"))


def test_every_cabinet_page_asks_a_stranger_to_sign_in(client):
    meter = MeterFactory()
    number = meter.account.number
    for url in ("/", "/link/", "/settings/", f"/accounts/{number}/", f"/accounts/{number}/history/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/signin/?next="), url


# --- An account and its reading form -------------------------------------------------------


def test_someone_elses_account_is_not_found(client, resident, in_window):
    theirs = linked_meter(UserFactory())
    for url in (
        f"/accounts/{theirs.account.number}/",
        f"/accounts/{theirs.account.number}/history/",
        f"/accounts/{theirs.account.number}/history.csv",
        f"/accounts/{theirs.account.number}/unlink/",
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(f"/accounts/{theirs.account.number}/", {"meter": theirs.pk, "t1": "1200"})
    assert response.status_code == 404
    assert not Reading.objects.exists()


def test_the_account_page_has_one_labelled_field_per_zone(client, resident, in_window):
    meter = linked_meter(resident, zones=3, initial_values=[1, 2, 3])
    html = page(client.get(f"/accounts/{meter.account.number}/"))
    for zone in ("t1", "t2", "t3"):
        assert f'<label for="id_m{meter.pk}_{zone}">' in html
        assert f'id="id_m{meter.pk}_{zone}"' in html
    assert "Тризонний (пік/напівпік/ніч)" in html


def test_a_two_zone_reading_is_recorded_and_shown_with_its_period(client, resident, in_window):
    meter = linked_meter(resident, zones=2, initial_values=[1000, 500])
    response = client.post(
        f"/accounts/{meter.account.number}/", {"meter": meter.pk, "t1": "1100", "t2": "550"}, REMOTE_ADDR="203.0.113.5"
    )
    assert response.status_code == 302
    reading = Reading.objects.get()
    assert (reading.values, reading.status, reading.period) == ((1100, 550), "accepted", dt.date(2026, 12, 1))
    assert (reading.channel, reading.submitted_by, reading.ip_address) == ("web", resident, "203.0.113.5")
    html = page(client.get(response["Location"]))
    assert "Показання прийнято" in html
    assert "<strong>1100/550</strong>" in html
    # The reading of 01.12 closes November's use, as the bills say it.
    assert "показання на 01.12.2026 — споживання за листопад 2026" in html
    assert "грудень" not in html.lower()
    assert "100 + 50" in html  # consumption per zone
    assert "540,00" in html  # (100 kWh × 1 + 50 kWh × 0.5) × 4.32 UAH


def test_the_dashboard_and_the_account_name_the_last_reading_as_the_bills_do(client, resident, in_window):
    meter = linked_meter(resident, initial_values=[1000])
    reading_submit(meter=meter, text="1100", channel="telegram")
    said = "Останні прийняті: <strong>1100</strong>, показання на 01.12.2026 — споживання за листопад 2026"
    assert said in page(client.get("/"))
    assert said in page(client.get(f"/accounts/{meter.account.number}/"))
    # The window's banner says which reading it takes.
    assert '<span class="period">Показання на 01.12.2026 — споживання за листопад 2026</span>' in page(client.get("/"))


def test_the_cabinet_names_the_month_of_use_in_english_too(client, resident, in_window):
    meter = linked_meter(resident, initial_values=[1000])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.post(f"/accounts/{meter.account.number}/", {"meter": meter.pk, "t1": "1100"})
    outcome = page(client.get(response["Location"]))
    assert "<strong>1100</strong>, reading as of 01.12.2026 — consumption for November 2026." in outcome
    history = page(client.get(f"/accounts/{meter.account.number}/history/"))
    assert '<th scope="rowgroup" colspan="5">Reading as of 01.12.2026 — consumption for November 2026</th>' in history
    assert '<td data-label="Channel">web cabinet</td>' in history


def test_a_refused_reading_shows_the_services_message_and_writes_nothing(client, resident, in_window):
    meter = linked_meter(resident, initial_values=[5000])
    url = f"/accounts/{meter.account.number}/"
    response = client.post(url, {"meter": meter.pk, "t1": "5100,7"})
    assert response.status_code == 400
    assert uk(ReadingDecimal(part="5100,7", whole=5100)) in page(response)
    response = client.post(url, {"meter": meter.pk, "t1": "4000"})
    assert uk(ReadingDecrease(value=4000, previous=5000, zone=1)) in page(response)
    assert 'value="4000"' in page(response)  # what was typed stays in the field to correct
    response = client.post(url, {"meter": meter.pk, "t1": ""})
    assert response.status_code == 400
    assert "Це поле обов" in page(response)
    assert not Reading.objects.exists()


def test_an_unusual_reading_is_recorded_only_after_the_resident_confirms_it(client, resident, in_window):
    meter = linked_meter(resident, initial_values=[1000])
    url = f"/accounts/{meter.account.number}/"
    response = client.post(url, {"meter": meter.pk, "t1": "9000"})
    assert response.status_code == 200
    assert uk(UnusualJumpConfirmation(consumption=8000)) in page(response)  # the household may know it
    assert 'name="confirm" value="on"' in page(response)
    assert not Reading.objects.exists()
    response = client.post(url, {"meter": meter.pk, "t1": "9000", "confirm": "on"})
    assert response.status_code == 302
    reading = Reading.objects.get()
    assert (reading.status, reading.review_reason) == ("needs_review", "unusual_jump")
    assert "Збережено й передано працівникам на перевірку" in page(client.get(response["Location"]))


def test_a_meter_of_another_account_cannot_be_slipped_into_the_form(client, resident, in_window):
    mine = linked_meter(resident)
    theirs = linked_meter(UserFactory())
    response = client.post(f"/accounts/{mine.account.number}/", {"meter": theirs.pk, "t1": "1200"})
    assert response.status_code == 400
    assert not Reading.objects.exists()


def test_outside_the_window_the_page_says_it_kept_a_control_reading(client, resident):
    meter = linked_meter(resident, initial_values=[1000])
    with time_machine.travel(BEFORE_DEC_WINDOW, tick=False):
        response = client.post(f"/accounts/{meter.account.number}/", {"meter": meter.pk, "t1": "1200"})
        html = page(client.get(response["Location"]))
    assert Reading.objects.get().status == "control"
    assert "контрольні" in html
    assert "27.11–03.12.2026" in html


def test_the_outcome_of_someone_elses_reading_is_not_shown(client, resident, in_window):
    mine = linked_meter(resident)
    theirs = MeterFactory(initial_values=[1000])
    reading = reading_submit(meter=theirs, text="1234", channel="web")
    html = page(client.get(f"/accounts/{mine.account.number}/?recorded={reading.pk}"))
    assert "1234" not in html


# --- History ------------------------------------------------------------------------------


def two_years_of_readings(meter, months: int = 26, start: int = 1000, step: tuple[int, ...] = (100, 40)):
    """Accepted monthly readings for `months` periods up to 2026-12."""
    values = [start] * meter.zones
    for index in range(months):
        period = add_months(dt.date(2026, 12, 1), index - months + 1)
        values = [value + step[zone] for zone, value in enumerate(values)]
        Reading.objects.create(
            meter=meter,
            period=period,
            value1=values[0],
            value2=values[1] if meter.zones > 1 else None,
            consumption1=step[0],
            consumption2=step[1] if meter.zones > 1 else None,
            status="accepted",
            channel="telegram",
            submitted_at=kyiv(period.year, period.month, 1),
        )


def test_the_history_charts_24_months_stacked_by_zone_with_the_estimated_cost(client, resident, in_window):
    meter = linked_meter(resident, zones=2, initial_values=[1000, 1000])
    two_years_of_readings(meter)
    html = page(client.get(f"/accounts/{meter.account.number}/history/"))
    assert html.count('<g class="bar"') == 24
    assert 'data-period="2025-01-01"' in html and 'data-period="2026-12-01"' in html
    assert 'data-period="2024-12-01"' not in html
    assert html.count('data-total="140"') == 24
    assert html.count('<rect class="zone-1"') == html.count('<rect class="zone-2"') == 24
    # 100 kWh by day × 1 + 40 by night × 0.5 = 120 kWh at 4.32 UAH
    assert "518,40" in html
    # Each month is named by the use it holds: the reading of 01.12.2026 is November's use.
    assert '<tr><th scope="row">Листопад 2026</th>' in html
    assert '<tr><th scope="row">Грудень 2024</th>' in html  # the reading of 01.01.2025, the oldest shown
    assert "Грудень 2026" not in html
    assert "<title>Листопад 2026: 100 + 40 кВт·год</title>" in html


def history_csv(client, meter) -> tuple[bytes, list[list[str]]]:
    response = client.get(f"/accounts/{meter.account.number}/history.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert f"pokaznyk-{meter.account.number}.csv" in response["Content-Disposition"]
    return response.content, list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def test_the_history_csv_has_every_reading_of_the_account(client, resident, in_window):
    meter = linked_meter(resident, zones=2, initial_values=[1000, 1000])
    two_years_of_readings(meter, months=3)
    _content, rows = history_csv(client, meter)
    assert rows[0] == [
        "Період",
        "Місяць споживання",
        "Лічильник",
        "Показання: день",
        "Показання: ніч",
        "Споживання: день, кВт·год",
        "Споживання: ніч, кВт·год",
        "Споживання разом, кВт·год",
        "Орієнтовна вартість, грн",
        "Статус",
        "Канал",
        "Надіслано",
    ]
    assert len(rows) == 1 + 3
    # 100 kWh by day × 1 + 40 by night × 0.5 = 120 kWh at 4.32 UAH: 518,40, with the decimal comma.
    assert rows[1][:9] == ["01.12.2026", "Листопад 2026", meter.serial, "1300", "1120", "100", "40", "140", "518,40"]


def test_the_history_csv_opens_in_ukrainian_excel_as_columns(client, resident, in_window):
    """Excel in a Ukrainian locale splits a CSV at ";" and reads "12,50" as a number; it shows
    Cyrillic only after a UTF-8 byte-order mark."""
    meter = linked_meter(resident, initial_values=[1000])
    two_years_of_readings(meter, months=2, step=(101,))
    content, rows = history_csv(client, meter)
    assert content.startswith(b"\xef\xbb\xbf\xd0\x9f")  # the BOM, then "П" of "Період"
    lines = content.decode("utf-8-sig").splitlines()
    assert lines[0].split(";") == rows[0]  # ";" and nothing else between the fields
    # 101 kWh × 4.32 UAH = 436.32, with a comma before the kopecks.
    assert lines[1].split(";")[3:6] == ["1202", "101", "436,32"]


def test_a_one_zone_history_csv_has_no_column_twice(client, resident, in_window):
    meter = linked_meter(resident, initial_values=[1000])
    two_years_of_readings(meter, months=2, step=(101,))
    _content, rows = history_csv(client, meter)
    assert rows[0][:6] == [
        "Період",
        "Місяць споживання",
        "Лічильник",
        "Показання",
        "Споживання, кВт·год",
        "Орієнтовна вартість, грн",
    ]
    assert len(set(rows[0])) == len(rows[0])
    assert all(len(row) == len(rows[0]) for row in rows)
    assert rows[1][3:5] == ["1202", "101"]  # the reading and its consumption, and no total repeating it


def test_a_one_zone_history_table_shows_the_months_use_once(client, resident, in_window):
    meter = linked_meter(resident, initial_values=[1000])
    two_years_of_readings(meter, months=2, step=(101,))
    html = page(client.get(f"/accounts/{meter.account.number}/history/"))
    table = html[html.index('<table class="stack months">') : html.index("</table>")]
    header = table[table.index("<thead>") : table.index("</thead>")]
    assert header.count("<th scope") == 3  # the month, its kWh, its estimate: no zone column repeating the total
    months = table.count('<th scope="row">')
    assert months >= 1
    assert table.count('<td class="num') == 2 * months  # each month: its kWh and its estimate


def test_a_control_reading_adds_no_estimated_cost_in_the_csv_or_on_its_page(client, resident):
    meter = linked_meter(resident, zones=1, initial_values=[1000])
    with time_machine.travel(BEFORE_DEC_WINDOW, tick=False):  # outside the window: a control reading
        response = client.post(f"/accounts/{meter.account.number}/", {"meter": meter.pk, "t1": "1100"})
        outcome = page(client.get(response["Location"]))
        text = client.get(f"/accounts/{meter.account.number}/history.csv").content.decode("utf-8")
    [row] = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))[1:]
    assert Reading.objects.get().status == Reading.Status.CONTROL
    assert (row[4], row[5]) == ("100", "")  # the consumption is known, the estimate is not given
    assert "кВт·год" in outcome and "орієнтовна вартість" not in outcome


# --- The quick form ------------------------------------------------------------------------


def test_the_quick_form_records_a_reading_without_signing_in(client, in_window):
    meter = MeterFactory(zones=2, initial_values=[1000, 500], account__address="вул. Соборна, 123")
    response = client.post(
        "/quick/",
        {"account_number": meter.account.number, "meter_serial": meter.serial.lower(), "reading": "1100/550"},
        REMOTE_ADDR="198.51.100.9",
    )
    assert response.status_code == 302
    reading = Reading.objects.get()
    assert (reading.values, reading.channel, reading.submitted_by, reading.ip_address) == (
        (1100, 550),
        "quick",
        None,
        "198.51.100.9",
    )
    html = page(client.get(response["Location"]))
    assert "<strong>1100/550</strong>" in html
    assert "Соборна" not in html  # a stranger learns nothing about the household
    assert "1100/550" not in page(client.get("/quick/"))  # shown once, not on every visit
    assert "показання на 01.12.2026 — споживання за листопад 2026" in html
    assert "1000/500" not in html  # nor the meter's earlier reading


def test_a_quick_form_reading_shows_as_such_in_the_residents_history_and_export(client, resident, in_window):
    meter = linked_meter(resident, initial_values=[1000])
    data = {"account_number": meter.account.number, "meter_serial": meter.serial, "reading": "1100"}
    assert client.post("/quick/", data).status_code == 302
    history = page(client.get(f"/accounts/{meter.account.number}/history/"))
    assert '<td data-label="Канал">швидка форма</td>' in history
    assert '<td data-label="Канал">особистий кабінет</td>' not in history
    export = client.get(f"/accounts/{meter.account.number}/history.csv").content.decode()
    assert "швидка форма" in export


@pytest.mark.parametrize(
    ("typed", "said", "hidden"),
    [
        # Lower than the last accepted reading: the refusal does not say what that reading was.
        ("1500", QuickReadingDecrease(value=1500, zone=1), ["1700"]),
        # Far above it: the question does not say how far (8300 kWh would give the reading away).
        ("10000", QuickUnusualJumpConfirmation(), ["1700", "8300"]),
    ],
)
def test_the_quick_form_never_shows_the_meters_earlier_readings(client, in_window, typed, said, hidden):
    meter = MeterFactory(initial_values=[1700])
    data = {"account_number": meter.account.number, "meter_serial": meter.serial, "reading": typed}
    html = page(client.post("/quick/", data))
    assert uk(said) in html
    for number in hidden:
        assert number not in html
    assert not Reading.objects.exists()


def test_the_quick_form_refuses_a_wrong_serial_and_throttles_guessing(client, settings, in_window):
    settings.LINK_ATTEMPTS_PER_ADDRESS = 3
    meter = MeterFactory()
    wrong = {"account_number": meter.account.number, "meter_serial": "NOPE1", "reading": "1200"}
    response = client.post("/quick/", wrong)
    assert response.status_code == 400
    assert uk(AccountMeterMismatch(number=meter.account.number, serial="NOPE1", attempts_left=2)) in page(response)
    unknown = {**wrong, "account_number": "999999999"}
    assert uk(AccountMeterMismatch(number="999999999", serial="NOPE1", attempts_left=1)) in page(
        client.post("/quick/", unknown)
    )
    client.post("/quick/", wrong)
    right = {**wrong, "meter_serial": meter.serial}
    response = client.post("/quick/", right)
    assert response.status_code == 429
    # Words for sending a reading, not for adding an account.
    assert uk(TooManyQuickAttempts(minutes=60, retry_after=3600)) in page(response)
    assert "передати показання" in uk(TooManyQuickAttempts(minutes=60, retry_after=3600))
    assert response["Retry-After"] == "3600"
    assert not Reading.objects.exists()
    # Another address is not held back by these attempts.
    assert client.post("/quick/", right, REMOTE_ADDR="192.0.2.77").status_code == 302


def test_the_quick_form_asks_to_confirm_an_unusual_reading(client, in_window):
    meter = MeterFactory(initial_values=[1000])
    data = {"account_number": meter.account.number, "meter_serial": meter.serial, "reading": "9000"}
    response = client.post("/quick/", data)
    assert uk(QuickUnusualJumpConfirmation()) in page(response)
    assert "8000" not in page(response)  # the size of the jump would tell the previous reading
    assert not Reading.objects.exists()
    assert client.post("/quick/", {**data, "confirm": "on"}).status_code == 302
    assert Reading.objects.get().status == "needs_review"


# --- Page weight ------------------------------------------------------------------------------


def five_accounts_with_five_years(user):
    for _ in range(5):
        meter = linked_meter(user, zones=2, initial_values=[1000, 1000])
        two_years_of_readings(meter, months=60)


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_dashboard_and_history_take_a_fixed_number_of_queries(client, resident, in_window):
    first = linked_meter(resident, zones=2, initial_values=[1000, 1000])
    two_years_of_readings(first, months=2)
    # The window is worked out once per calendar stamp and process: whichever request comes first
    # pays for reading the calendar, so it is paid here, before counting.
    client.get("/")
    one_account = {url: queries(client, url) for url in ("/", f"/accounts/{first.account.number}/history/")}
    five_accounts_with_five_years(resident)
    many = {url: queries(client, url) for url in one_account}
    assert many == one_account
    assert max(many.values()) <= 8  # the dashboard's 8th: whether reminders reach the resident


def test_a_residents_accounts_with_their_meters_and_last_readings_take_three_queries(resident):
    """The dashboard and the API's account list: accounts, meters, each meter's last reading."""
    five_accounts_with_five_years(resident)
    with CaptureQueriesContext(connection) as captured:
        accounts = selectors.accounts_with_meters(user=resident)
    assert len(captured) == 3
    lasts = [meter["last_reading"] for account in accounts for meter in account["meters"]]
    assert [(last["period"], last["values"]) for last in lasts] == [(dt.date(2026, 12, 1), [7000, 3400])] * 5
