"""The billing export's bytes: what billing's import reads must not change when the export gets faster."""

import csv
import datetime as dt
import io
import itertools
import zipfile

import openpyxl
import psycopg
import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from accounts.models import Meter
from accounts.tests.factories import MeterFactory, PersonalAccountFactory, UserFactory
from readings import export
from readings.models import Reading
from readings.services import export_batch_record

pytestmark = pytest.mark.django_db

OCTOBER = dt.date(2026, 10, 1)
UTC = dt.UTC

# Around Kyiv's clock changes of 2026 (UTC; Kyiv is +02:00 in winter, +03:00 in summer): the last
# second before and the first after spring's jump (02:59:59 → 04:00:00), and autumn's hour that
# happens twice (03:30 summer time, then 03:30 winter time), with microseconds that are cut off.
TIMES = [
    dt.datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC),
    dt.datetime(2026, 3, 29, 1, 0, 0, tzinfo=UTC),
    dt.datetime(2026, 10, 24, 23, 59, 59, tzinfo=UTC),
    dt.datetime(2026, 10, 25, 0, 30, 0, 500000, tzinfo=UTC),
    dt.datetime(2026, 10, 25, 0, 59, 59, tzinfo=UTC),
    dt.datetime(2026, 10, 25, 1, 0, 0, tzinfo=UTC),
    dt.datetime(2026, 10, 25, 1, 30, 0, tzinfo=UTC),
    dt.datetime(2026, 12, 31, 22, 0, 0, tzinfo=UTC),
    dt.datetime(2027, 1, 1, 9, 5, 7, tzinfo=UTC),
]

# What the export gave before it was made fast, for the readings `dataset` makes; CRLF line ends,
# quotes only where a value needs them, nothing for a missing value.
EXPECTED = "\r\n".join(
    [
        "account_number,eic,meter_serial,zones,t1,t2,t3,consumption_t1,consumption_t2,consumption_t3,status,channel,submitted_at",
        "120000000,,SN000000,1,1007,,,1,,,superseded,telegram,2026-03-29T02:59:59+02:00",
        "120000000,,SN000000,1,1007,,,1,,,rejected,telegram,2026-03-29T04:00:00+03:00",
        "120000000,,SN000000,1,1007,,,1,,,control,telegram,2026-10-25T02:59:59+03:00",
        "120000000,,SN000000,1,1007,,,1,,,accepted,telegram,2026-10-25T03:30:00+03:00",
        "120000000,,ЛІЧ-2 зони,2,1014,2006,,2,4,,superseded,telegram,2026-10-25T03:59:59+03:00",
        '120000000,,"N ""2"", 3",3,1021,2009,303,3,0,-3,control,telegram,2026-10-25T03:00:00+02:00',
        '120000000,,"TWO\nLINES",1,1028,,,4,,,superseded,telegram,2026-10-25T03:30:00+02:00',
        '120000000,,"TWO\nLINES",1,1028,,,4,,,rejected,telegram,2027-01-01T00:00:00+02:00',
        '120000000,,"TWO\nLINES",1,1028,,,4,,,control,telegram,2027-01-01T11:05:07+02:00',
        '120000000,,"TWO\nLINES",1,1028,,,4,,,needs_review,telegram,2026-03-29T02:59:59+02:00',
        "120000001,62Z1234567890121,SN000001,1,1035,,,,,,rejected,viber,2026-03-29T04:00:00+03:00",
        "120000001,62Z1234567890121,ЛІЧ-2 зони,2,1042,2018,,6,0,,superseded,viber,2026-10-25T02:59:59+03:00",
        "120000001,62Z1234567890121,ЛІЧ-2 зони,2,1042,2018,,6,0,,rejected,viber,2026-10-25T03:30:00+03:00",
        "120000001,62Z1234567890121,ЛІЧ-2 зони,2,1042,2018,,6,0,,control,viber,2026-10-25T03:59:59+03:00",
        "120000001,62Z1234567890121,ЛІЧ-2 зони,2,1042,2018,,6,0,,accepted,viber,2026-10-25T03:00:00+02:00",
        '120000001,62Z1234567890121,"N ""2"", 3",3,1049,2021,307,7,14,-7,superseded,viber,2026-10-25T03:30:00+02:00',
        '120000001,62Z1234567890121,"TWO\nLINES",1,1056,,,8,,,control,viber,2027-01-01T00:00:00+02:00',
        "120000002,,SN000002,1,1063,,,9,,,superseded,messenger,2027-01-01T11:05:07+02:00",
        "120000002,,SN000002,1,1063,,,9,,,rejected,messenger,2026-03-29T02:59:59+02:00",
        "120000002,,SN000002,1,1063,,,9,,,control,messenger,2026-03-29T04:00:00+03:00",
        "120000002,,SN000002,1,1063,,,9,,,needs_review,messenger,2026-10-25T02:59:59+03:00",
        "120000002,,ЛІЧ-2 зони,2,1070,2030,,,,,rejected,messenger,2026-10-25T03:30:00+03:00",
        '120000002,,"N ""2"", 3",3,1077,2033,311,11,22,-11,superseded,messenger,2026-10-25T03:59:59+03:00',
        '120000002,,"N ""2"", 3",3,1077,2033,311,11,22,-11,rejected,messenger,2026-10-25T03:00:00+02:00',
        '120000002,,"N ""2"", 3",3,1077,2033,311,11,22,-11,control,messenger,2026-10-25T03:30:00+02:00',
        '120000002,,"N ""2"", 3",3,1077,2033,311,11,22,-11,accepted,messenger,2027-01-01T00:00:00+02:00',
        '120000002,,"TWO\nLINES",1,1084,,,12,,,superseded,messenger,2027-01-01T11:05:07+02:00',
        "120000003,62Z1234567890123,SN000003,1,1091,,,13,,,control,web,2026-03-29T02:59:59+02:00",
        "120000003,62Z1234567890123,ЛІЧ-2 зони,2,1098,2042,,14,28,,superseded,web,2026-03-29T04:00:00+03:00",
        "120000003,62Z1234567890123,ЛІЧ-2 зони,2,1098,2042,,14,28,,rejected,web,2026-10-25T02:59:59+03:00",
        "120000003,62Z1234567890123,ЛІЧ-2 зони,2,1098,2042,,14,28,,control,web,2026-10-25T03:30:00+03:00",
        "120000003,62Z1234567890123,ЛІЧ-2 зони,2,1098,2042,,14,28,,needs_review,web,2026-10-25T03:59:59+03:00",
        '120000003,62Z1234567890123,"N ""2"", 3",3,1105,2045,315,,,,rejected,web,2026-10-25T03:00:00+02:00',
        '120000003,62Z1234567890123,"TWO\nLINES",1,1112,,,16,,,superseded,web,2026-10-25T03:30:00+02:00',
        '120000003,62Z1234567890123,"TWO\nLINES",1,1112,,,16,,,rejected,web,2027-01-01T00:00:00+02:00',
        '120000003,62Z1234567890123,"TWO\nLINES",1,1112,,,16,,,control,web,2027-01-01T11:05:07+02:00',
        '120000003,62Z1234567890123,"TWO\nLINES",1,1112,,,16,,,accepted,web,2026-03-29T02:59:59+02:00',
        "120000004,,SN000004,1,1119,,,17,,,superseded,quick,2026-03-29T04:00:00+03:00",
        "120000004,,ЛІЧ-2 зони,2,1126,2054,,18,0,,control,quick,2026-10-25T02:59:59+03:00",
        '120000004,,"N ""2"", 3",3,1133,2057,319,19,38,-19,superseded,quick,2026-10-25T03:30:00+03:00',
        '120000004,,"N ""2"", 3",3,1133,2057,319,19,38,-19,rejected,quick,2026-10-25T03:59:59+03:00',
        '120000004,,"N ""2"", 3",3,1133,2057,319,19,38,-19,control,quick,2026-10-25T03:00:00+02:00',
        '120000004,,"N ""2"", 3",3,1133,2057,319,19,38,-19,needs_review,quick,2026-10-25T03:30:00+02:00',
        '120000004,,"TWO\nLINES",1,1140,,,,,,rejected,quick,2027-01-01T00:00:00+02:00',
        "120000005,62Z1234567890125,SN000005,1,1147,,,21,,,superseded,api,2027-01-01T11:05:07+02:00",
        "120000005,62Z1234567890125,SN000005,1,1147,,,21,,,rejected,api,2026-03-29T02:59:59+02:00",
        "120000005,62Z1234567890125,SN000005,1,1147,,,21,,,control,api,2026-03-29T04:00:00+03:00",
        "120000005,62Z1234567890125,SN000005,1,1147,,,21,,,accepted,api,2026-10-25T02:59:59+03:00",
        "120000005,62Z1234567890125,ЛІЧ-2 зони,2,1154,2066,,22,44,,superseded,api,2026-10-25T03:30:00+03:00",
        '120000005,62Z1234567890125,"N ""2"", 3",3,1161,2069,323,23,46,-23,control,api,2026-10-25T03:59:59+03:00',
        '120000005,62Z1234567890125,"TWO\nLINES",1,1168,,,24,,,superseded,api,2026-10-25T03:00:00+02:00',
        '120000005,62Z1234567890125,"TWO\nLINES",1,1168,,,24,,,rejected,api,2026-10-25T03:30:00+02:00',
        '120000005,62Z1234567890125,"TWO\nLINES",1,1168,,,24,,,control,api,2027-01-01T00:00:00+02:00',
        '120000005,62Z1234567890125,"TWO\nLINES",1,1168,,,24,,,needs_review,api,2027-01-01T11:05:07+02:00',
        "120000006,,SN000006,1,1175,,,,,,rejected,phone,2026-03-29T02:59:59+02:00",
        "120000006,,ЛІЧ-2 зони,2,1182,2078,,26,52,,superseded,phone,2026-03-29T04:00:00+03:00",
        "120000006,,ЛІЧ-2 зони,2,1182,2078,,26,52,,rejected,phone,2026-10-25T02:59:59+03:00",
        "120000006,,ЛІЧ-2 зони,2,1182,2078,,26,52,,control,phone,2026-10-25T03:30:00+03:00",
        "120000006,,ЛІЧ-2 зони,2,1182,2078,,26,52,,accepted,phone,2026-10-25T03:59:59+03:00",
        '120000006,,"N ""2"", 3",3,1189,2081,327,27,0,-27,superseded,phone,2026-10-25T03:00:00+02:00',
        '120000006,,"TWO\nLINES",1,1196,,,28,,,control,phone,2026-10-25T03:30:00+02:00',
        "120000007,62Z1234567890127,SN000007,1,1203,,,29,,,superseded,staff,2027-01-01T00:00:00+02:00",
        "120000007,62Z1234567890127,SN000007,1,1203,,,29,,,rejected,staff,2027-01-01T11:05:07+02:00",
        "120000007,62Z1234567890127,SN000007,1,1203,,,29,,,control,staff,2026-03-29T02:59:59+02:00",
        "120000007,62Z1234567890127,SN000007,1,1203,,,29,,,needs_review,staff,2026-03-29T04:00:00+03:00",
        "120000007,62Z1234567890127,ЛІЧ-2 зони,2,1210,2090,,,,,rejected,staff,2026-10-25T02:59:59+03:00",
        '120000007,62Z1234567890127,"N ""2"", 3",3,1217,2093,331,31,62,-31,superseded,staff,2026-10-25T03:30:00+03:00',
        '120000007,62Z1234567890127,"N ""2"", 3",3,1217,2093,331,31,62,-31,rejected,staff,2026-10-25T03:59:59+03:00',
        '120000007,62Z1234567890127,"N ""2"", 3",3,1217,2093,331,31,62,-31,control,staff,2026-10-25T03:00:00+02:00',
        '120000007,62Z1234567890127,"N ""2"", 3",3,1217,2093,331,31,62,-31,accepted,staff,2026-10-25T03:30:00+02:00',
        '120000007,62Z1234567890127,"TWO\nLINES",1,1224,,,32,,,superseded,staff,2027-01-01T00:00:00+02:00',
        "120000008,,SN000008,1,1231,,,33,,,control,import,2027-01-01T11:05:07+02:00",
        "120000008,,ЛІЧ-2 зони,2,1238,2102,,34,68,,superseded,import,2026-03-29T02:59:59+02:00",
        "120000008,,ЛІЧ-2 зони,2,1238,2102,,34,68,,rejected,import,2026-03-29T04:00:00+03:00",
        "120000008,,ЛІЧ-2 зони,2,1238,2102,,34,68,,control,import,2026-10-25T02:59:59+03:00",
        "120000008,,ЛІЧ-2 зони,2,1238,2102,,34,68,,needs_review,import,2026-10-25T03:30:00+03:00",
        '120000008,,"N ""2"", 3",3,1245,2105,335,,,,rejected,import,2026-10-25T03:59:59+03:00',
        '120000008,,"TWO\nLINES",1,1252,,,36,,,superseded,import,2026-10-25T03:00:00+02:00',
        '120000008,,"TWO\nLINES",1,1252,,,36,,,rejected,import,2026-10-25T03:30:00+02:00',
        '120000008,,"TWO\nLINES",1,1252,,,36,,,control,import,2027-01-01T00:00:00+02:00',
        '120000008,,"TWO\nLINES",1,1252,,,36,,,accepted,import,2027-01-01T11:05:07+02:00',
        "",  # the last line ends like the others
    ]
).encode()


def dataset() -> None:
    """Every status and channel on 1-, 2- and 3-zone meters; missing values and consumption; serials that
    need quoting (a comma, quotes, a line break) or are not ASCII; accounts without an EIC."""
    statuses = itertools.cycle(Reading.Status.values)
    times = itertools.cycle(TIMES)
    n = 0
    for a, channel in enumerate(Reading.Channel.values):
        account = PersonalAccountFactory(number=f"12000000{a}", eic=f"62Z123456789012{a}" if a % 2 else "")
        meters = [
            MeterFactory(account=account, serial=f"SN00000{a}", zones=1),
            MeterFactory(account=account, serial="ЛІЧ-2 зони", zones=2),
            MeterFactory(account=account, serial='N "2", 3', zones=3),
            MeterFactory(account=account, serial="TWO\nLINES", zones=1, is_active=False),
        ]
        for meter in meters:
            n += 1
            values = [1000 + n * 7, 2000 + n * 3, 300 + n][: meter.zones]
            # The first reading of a meter has no consumption; some have none in a zone.
            used = [None] if n % 5 == 0 else [n, n * 2 if n % 3 else 0, -n][: meter.zones]
            status = next(statuses)
            # Each meter's one standing reading (accepted or held) after the ones it replaced.
            for earlier in ("superseded", "rejected", "control") if status in ("accepted", "needs_review") else ():
                reading(meter, values, used, earlier, channel, next(times))
            reading(meter, values, used, status, channel, next(times))
    # Another period's reading is not the month's.
    Reading.objects.create(
        meter=MeterFactory(),
        period=dt.date(2026, 11, 1),
        value1=1,
        status="accepted",
        channel="web",
        submitted_at=TIMES[0],
    )


def reading(meter, values: list, used: list, status: str, channel: str, submitted_at: dt.datetime) -> None:
    values, used = values + [None] * (3 - len(values)), used + [None] * (3 - len(used))
    Reading.objects.create(
        meter=meter,
        period=OCTOBER,
        value1=values[0],
        value2=values[1],
        value3=values[2],
        consumption1=used[0],
        consumption2=used[1],
        consumption3=used[2],
        status=status,
        channel=channel,
        submitted_at=submitted_at,
    )


def supervisor():
    user = UserFactory(username="billing", is_staff=True)
    user.groups.add(Group.objects.get(name="supervisor"))
    return user


def csv_of(response) -> bytes:
    return b"".join(response.streaming_content)


def api_export(api: APIClient, kind: str = "csv", **query):
    response = api.get("/api/v1/export/readings/", {"period": OCTOBER.isoformat(), "format": kind, **query})
    assert response.status_code == 200
    return response


@pytest.fixture
def api() -> APIClient:
    dataset()
    client = APIClient()
    client.force_authenticate(supervisor())
    return client


def test_the_csv_export_gives_billing_the_same_bytes_as_before(api):
    assert csv_of(api_export(api)) == EXPECTED


def test_a_new_only_export_after_a_broken_download_gives_the_same_bytes_too(api):
    next(iter(api_export(api).streaming_content))  # the header line, then the client goes away
    assert csv_of(api_export(api, new_only="true")) == EXPECTED
    assert csv_of(api_export(api, new_only="true")) == EXPECTED.split(b"\r\n")[0] + b"\r\n"


def test_the_xlsx_export_gives_the_same_cells_as_before(api):
    sheet = openpyxl.load_workbook(io.BytesIO(csv_of(api_export(api, "xlsx")))).active
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    lines = list(csv.reader(io.StringIO(EXPECTED.decode(), newline="")))
    # Numbers as numbers, missing values and the empty EIC as empty cells, the rest as text.
    typed = [
        [int(value) if 3 <= i <= 9 and value else (value or None) for i, value in enumerate(line)] for line in lines[1:]
    ]
    assert cells == [list(lines[0]), *typed]


def test_on_postgresql_the_copy_and_the_python_paths_give_the_same_bytes(on_postgres):
    """PostgreSQL makes the lines itself; the rows through csv.writer are the reference, and what
    SQLite gets. A month with values that need quoting (one a line break), then one with none."""
    dataset()
    batch = export_batch_record(period=OCTOBER, kind="csv", exported_by=supervisor())
    copied = b"".join(export.csv_chunks(batch))
    written = "".join(export.csv_lines(export.period_rows(OCTOBER, batch))).encode()
    assert copied == written == EXPECTED
    for meter in Meter.objects.filter(serial__in=['N "2", 3', "TWO\nLINES"]):
        Meter.objects.filter(pk=meter.pk).update(serial=f"PLAIN{meter.pk}")  # nothing needs quoting now
    plain = export_batch_record(period=OCTOBER, kind="csv", exported_by=supervisor())
    copied = b"".join(export.csv_chunks(plain))
    assert copied == "".join(export.csv_lines(export.period_rows(OCTOBER, plain))).encode()
    lines = 1 + Reading.objects.filter(period=OCTOBER).count()
    assert copied.count(b"\n") == copied.count(b"\r\n") == lines and b'"' not in copied


def test_on_postgresql_the_export_works_with_debug_on_as_make_run_has_it(on_postgres, settings):
    """With DEBUG on, Django wraps the cursor in one whose copy() took no parameters: every export failed."""
    settings.DEBUG = True
    dataset()
    batch = export_batch_record(period=OCTOBER, kind="csv", exported_by=supervisor())
    assert b"".join(export.csv_chunks(batch)) == EXPECTED


@pytest.mark.django_db(transaction=True)  # as in production: a cancelled COPY aborts a transaction
def test_on_postgresql_a_download_broken_off_in_the_middle_leaves_the_connection_usable(on_postgres):
    meter = MeterFactory(zones=1)
    Reading.objects.bulk_create(  # receipts of our own: 3,000 random ones collide in about one run of 20
        Reading(
            meter=meter,
            period=OCTOBER,
            value1=n,
            status="control",
            channel="api",
            submitted_at=TIMES[n % 9],
            receipt=f"{n:08d}",
        )
        for n in range(3000)
    )
    batch = export_batch_record(period=OCTOBER, kind="csv", exported_by=UserFactory())
    chunks = export.csv_chunks(batch)
    next(chunks), next(chunks)  # the header, then the first lines while PostgreSQL is still sending
    chunks.close()  # the client went away: the server closes the response
    assert on_postgres.cursor().execute("SELECT 1") is not None
    whole = b"".join(export.csv_chunks(batch))
    assert whole == "".join(export.csv_lines(export.period_rows(OCTOBER, batch))).encode()
    assert whole.count(b"\r\n") == 3001


def test_on_postgresql_the_copy_and_the_python_paths_give_the_same_xlsx(on_postgres):
    """The worksheet PostgreSQL writes is the one xlsxwriter writes, serials that need escaping too;
    only the file's creation time differs. A serial is text, never a formula or a link."""
    dataset()
    account = PersonalAccountFactory()
    for serial in (" lead", "trail\t", "a&b<c>", "_x0041_", "ctl\x01", "back\\slash", "кир-1", "=1+2", "http://x.ua"):
        reading(MeterFactory(account=account, serial=serial), [5], [1], "control", "web", TIMES[3])
    batch = export_batch_record(period=OCTOBER, kind="xlsx", exported_by=supervisor())
    with export.xlsx_batch_file(batch) as copied, export.xlsx_file(export.period_rows(OCTOBER, batch)) as written:
        copied_parts, written_parts = xlsx_parts(copied), xlsx_parts(written)
    assert copied_parts == written_parts
    sheet = copied_parts["xl/worksheets/sheet1.xml"]
    assert sheet.count(b"<row ") == 1 + batch.readings_count
    assert b"<t>=1+2</t>" in sheet and b"<t>http://x.ua</t>" in sheet and b"<f>" not in sheet


def xlsx_parts(file) -> dict[str, bytes]:
    with zipfile.ZipFile(file) as archive:
        return {name: archive.read(name) for name in archive.namelist() if name != "docProps/core.xml"}


def test_on_postgresql_a_copy_that_fails_half_way_raises_rather_than_end_the_file_early(on_postgres):
    """Otherwise the download would end normally and the batch count as passed to billing."""
    lines = export._copy_lines("COPY (SELECT 1 / (10000 - n) FROM generate_series(1, 20000) n) TO STDOUT", {})
    with pytest.raises(psycopg.Error, match="division by zero"):
        for _line in lines:
            pass
