"""Billing export batches: each export records exactly what it gave; re-exports give what is new."""

import csv
import io

import openpyxl
import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import MeterFactory, UserFactory
from conftest import kyiv
from readings import selectors
from readings.models import ExportBatch, Reading
from readings.services import reading_approve, reading_submit

pytestmark = pytest.mark.django_db

EXPORT = "admin:readings_reading_export"
DECEMBER = "2026-12-01"


def staff(role: str):
    user = UserFactory(username=role, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def csv_serials(response) -> list[str]:
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return [row[2] for row in rows[1:]]


def xlsx_serials(response) -> list[str]:
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    return [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]


def batch_serials(batch: ExportBatch) -> list[str]:
    return list(Reading.objects.filter(exports__batch=batch).order_by("id").values_list("meter__serial", flat=True))


def late(submitted_at) -> Reading:
    return reading_submit(
        meter=MeterFactory(serial="LATE", initial_values=[0]), text="7", channel="api", submitted_at=submitted_at
    )


@pytest.fixture
def month():
    """December's readings of three meters (one superseded by a resend), and one of November."""
    meters = [MeterFactory(serial=f"MTR10{n}", initial_values=[1000]) for n in range(3)]
    for meter in meters:
        reading_submit(meter=meter, text="1100", channel="web", submitted_at=kyiv(2026, 11, 28))
    reading_submit(meter=meters[0], text="1120", channel="telegram", submitted_at=kyiv(2026, 11, 29))
    november = MeterFactory(serial="OLD", initial_values=[0])
    reading_submit(meter=november, text="5", channel="web", submitted_at=kyiv(2026, 10, 29))
    return meters


@pytest.mark.parametrize(("kind", "serials"), [("csv", csv_serials), ("xlsx", xlsx_serials)])
def test_an_admin_export_records_who_when_and_exactly_the_readings_in_the_file(client, month, kind, serials):
    supervisor = staff("supervisor")
    client.force_login(supervisor)
    response = client.get(reverse(EXPORT), {"period": DECEMBER, "format": kind})
    batch = ExportBatch.objects.get()
    assert (batch.exported_by, str(batch.period), batch.format, batch.new_only) == (supervisor, DECEMBER, kind, False)
    assert response["X-Export-Batch"] == str(batch.pk) and response["X-Export-Readings"] == "4"
    assert f"readings-2026-12-{batch.pk}.{kind}" in response["Content-Disposition"]
    assert batch.completed_at is None  # nothing has gone out yet: not passed to billing
    exported = serials(response)
    # The resend and the reading it replaced: every status, as before batches.
    assert exported == batch_serials(batch) == ["MTR100", "MTR101", "MTR102", "MTR100"]
    assert batch.readings_count == 4
    batch.refresh_from_db()
    assert batch.completed_at is not None


def test_the_api_export_is_a_batch_too_and_a_reading_shows_when_it_was_passed_to_billing(month):
    billing = staff("supervisor")
    api = APIClient()
    api.force_authenticate(billing)
    first = month[1].readings.get()
    assert selectors.reading_exported(first) is None
    response = api.get("/api/v1/export/readings/", {"period": DECEMBER, "format": "xlsx"})
    assert xlsx_serials(response) == ["MTR100", "MTR101", "MTR102", "MTR100"]
    batch = ExportBatch.objects.get(pk=response["X-Export-Batch"])
    assert selectors.reading_exported(first) == batch
    annotated = selectors.readings_with_export(Reading.objects.filter(period=DECEMBER))
    assert {reading.exported_at for reading in annotated} == {batch.completed_at}
    assert selectors.readings_with_export(Reading.objects.filter(period="2026-11-01")).get().exported_at is None
    # A later export does not move "passed to billing": the first batch gave it.
    b"".join(api.get("/api/v1/export/readings/", {"period": DECEMBER}).streaming_content)
    assert selectors.reading_exported(first) == batch


def test_a_download_that_breaks_off_is_not_passed_to_billing_and_comes_again_as_new(client, month):
    client.force_login(staff("supervisor"))
    response = client.get(reverse(EXPORT), {"period": DECEMBER, "format": "csv"})
    next(iter(response.streaming_content))  # the header line, then the client goes away
    assert ExportBatch.objects.get().completed_at is None
    assert selectors.readings_not_exported(Reading.objects.filter(period=DECEMBER)).count() == 4
    again = client.get(reverse(EXPORT), {"period": DECEMBER, "format": "csv", "new_only": "on"})
    assert csv_serials(again) == ["MTR100", "MTR101", "MTR102", "MTR100"]


def test_a_new_only_export_gives_new_readings_and_changed_statuses_not_what_billing_has(client, month):
    held = MeterFactory(serial="HELD", initial_values=[1000])
    reading_submit(meter=held, text="9000", channel="phone", submitted_at=kyiv(2026, 11, 30), confirm=True)
    supervisor = staff("supervisor")
    client.force_login(supervisor)
    assert len(csv_serials(client.get(reverse(EXPORT), {"period": DECEMBER, "format": "csv"}))) == 5

    nothing = client.get(reverse(EXPORT), {"period": DECEMBER, "format": "csv", "new_only": "on"})
    assert csv_serials(nothing) == []
    late(kyiv(2026, 12, 2))
    reading_approve(reading_id=held.readings.get().pk, reviewed_by=supervisor)
    response = client.get(reverse(EXPORT), {"period": DECEMBER, "format": "csv", "new_only": "on"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))[1:]
    assert [(row[2], row[10]) for row in rows] == [("HELD", "accepted"), ("LATE", "accepted")]
    assert "readings-2026-12-new-" in response["Content-Disposition"]
    assert ExportBatch.objects.order_by("pk").last().new_only is True
    # The whole period can always be taken again.
    everything = client.get(reverse(EXPORT), {"period": DECEMBER, "format": "csv"})
    assert sorted(csv_serials(everything)) == ["HELD", "LATE", "MTR100", "MTR100", "MTR101", "MTR102"]


def test_the_api_takes_new_only_and_refuses_a_bad_value(month):
    api = APIClient()
    api.force_authenticate(staff("supervisor"))
    b"".join(api.get("/api/v1/export/readings/", {"period": DECEMBER}).streaming_content)
    again = api.get("/api/v1/export/readings/", {"period": DECEMBER, "new_only": "true"})
    assert (again["X-Export-Readings"], csv_serials(again)) == ("0", [])
    refused = api.get("/api/v1/export/readings/", {"period": DECEMBER, "new_only": "maybe"})
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid")
    assert ExportBatch.objects.count() == 2


def test_staff_see_the_batches_and_what_has_not_gone_to_billing(client, month):
    supervisor = staff("supervisor")
    client.force_login(supervisor)
    b"".join(client.get(reverse(EXPORT), {"period": DECEMBER, "format": "csv"}).streaming_content)
    late(kyiv(2026, 12, 2))
    batch = ExportBatch.objects.get()

    with time_machine.travel(kyiv(2026, 12, 3), tick=False):
        page = client.get(reverse(EXPORT)).content.decode()
    assert "Ще не передано в білінг" in page and "Лише нове від попередніх вивантажень" in page
    waiting_link = 'data-period="{0}"><a href="/admin/readings/reading/?period={0}&amp;billing=no">1<'
    assert waiting_link.format("2026-12-01") in page and waiting_link.format("2026-11-01") in page
    assert f'?batch={batch.pk}">4</a>' in page

    waiting = client.get(reverse("admin:readings_reading_changelist"), {"period": DECEMBER, "billing": "no"})
    assert "LATE" in waiting.content.decode() and "MTR101" not in waiting.content.decode()
    given = client.get(reverse("admin:readings_reading_changelist"), {"batch": batch.pk}).content.decode()
    assert all(serial in given for serial in ("MTR100", "MTR101", "MTR102")) and "LATE" not in given

    client.force_login(staff("operator"))  # operators read the batches too
    batches = client.get(reverse("admin:readings_exportbatch_changelist")).content.decode()
    assert "supervisor" in batches and "1 грудня 2026" in batches
    assert f'?batch={batch.pk}">4</a>' in batches


def test_an_operator_may_not_export_and_nothing_is_recorded(client, month):
    operator = staff("operator")
    client.force_login(operator)
    assert client.get(reverse(EXPORT), {"period": DECEMBER, "format": "csv"}).status_code == 403
    api = APIClient()
    api.force_authenticate(operator)
    assert api.get("/api/v1/export/readings/", {"period": DECEMBER}).status_code == 403
    assert not ExportBatch.objects.exists()
    assert client.get(reverse("admin:readings_exportbatch_add")).status_code == 403
