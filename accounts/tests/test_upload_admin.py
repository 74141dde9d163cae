"""Master data from admin: upload, a preview of the bad rows with line numbers, then an import on purpose."""

import re

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from accounts.errors import UploadHasBadRows
from accounts.models import MasterDataUpload, Meter, PersonalAccount
from accounts.tests.factories import UserFactory
from conftest import kyiv
from readings.errors import ReadingTotalOfZoned

pytestmark = pytest.mark.django_db

GOOD = "account_number,meter_serial,zones,digits,address,t1\n123456789,AB1,1,6,вул. Соборна 1,1500\n"
WITH_BAD = GOOD + "12x,AB2,1,6,,\n223456789,AB3,4,6,,\n"


def staff(client, role):
    user = UserFactory(username=role, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return client


def upload(client, text: str, name="accounts.csv"):
    return client.post(
        reverse("admin:accounts_masterdataupload_add"), {"file": SimpleUploadedFile(name, text.encode("utf-8"))}
    )


def test_a_clean_file_is_previewed_and_imported_on_confirmation(client):
    staff(client, "supervisor")
    response = upload(client, GOOD)
    upload_row = MasterDataUpload.objects.get()
    assert response["Location"] == reverse("admin:accounts_masterdataupload_change", args=[upload_row.pk])
    assert not PersonalAccount.objects.exists()  # nothing written before the confirmation
    preview = client.get(response["Location"]).content.decode()
    assert "Імпортувати 1 рядок" in preview
    client.post(reverse("admin:accounts_masterdataupload_import", args=[upload_row.pk]))
    assert Meter.objects.get().account.number == "123456789"
    again = client.post(reverse("admin:accounts_masterdataupload_import", args=[upload_row.pk]), follow=True)
    assert "Цей файл уже імпортовано" in again.content.decode()
    assert PersonalAccount.objects.count() == 1


def test_bad_rows_are_listed_with_line_numbers_and_block_the_import(client):
    staff(client, "supervisor")
    response = upload(client, WITH_BAD)
    preview = client.get(response["Location"]).content.decode()
    assert "<td>3</td>" in preview and "<td>4</td>" in preview
    upload_row = MasterDataUpload.objects.get()
    assert (upload_row.good_rows, upload_row.bad_rows) == (1, 2)
    refused = client.post(reverse("admin:accounts_masterdataupload_import", args=[upload_row.pk]), follow=True)
    with translation.override("uk"):
        assert UploadHasBadRows(count=2).message in refused.content.decode()
    assert not PersonalAccount.objects.exists()
    client.post(reverse("admin:accounts_masterdataupload_import", args=[upload_row.pk]), {"skip_bad_rows": "1"})
    assert list(PersonalAccount.objects.values_list("number", flat=True)) == ["123456789"]


def test_an_unreadable_file_is_refused_on_the_upload_form(client):
    staff(client, "supervisor")
    page = upload(client, "number;serial\n1;2\n").content.decode()
    assert "errorlist" in page
    assert not MasterDataUpload.objects.exists()


def test_an_operator_may_not_import(client):
    staff(client, "operator")
    assert client.get(reverse("admin:accounts_masterdataupload_add")).status_code == 403


def test_a_supervisor_replaces_a_meter_through_the_service(client):
    from accounts.tests.factories import MeterFactory

    meter = MeterFactory(serial="OLD1", zones=1, initial_values=[500])
    staff(client, "supervisor")
    url = reverse("admin:accounts_meter_changelist")
    form = client.post(url, {"action": "replace", "_selected_action": [meter.pk]}).content.decode()
    assert "Заводський номер нового лічильника" in form
    bad = {"action": "replace", "_selected_action": [meter.pk], "apply": "1", "new_serial": "NEW1", "zones": "2"}
    bad |= {"digits": "6", "initial": "0", "replaced_on": "2026-11-20"}
    with translation.override("uk"):
        refusal = ReadingTotalOfZoned(zones=2, example="1111/2222").message
    assert refusal in client.post(url, bad).content.decode()
    assert not Meter.objects.filter(serial="NEW1").exists()
    client.post(url, {**bad, "initial": "0/0"})
    meter.refresh_from_db()
    new = Meter.objects.get(serial="NEW1")
    assert (meter.is_active, str(meter.removed_on)) == (False, "2026-11-20")
    assert (new.account, new.zones, new.initial_values) == (meter.account, 2, [0, 0])


def test_accounts_and_meters_are_not_typed_over_in_admin(client):
    from accounts.tests.factories import MeterFactory

    meter = MeterFactory()
    staff(client, "supervisor")
    change = reverse("admin:accounts_personalaccount_change", args=[meter.account.pk])
    assert client.post(change, {"number": "999999999"}).status_code == 403
    staff(client, "operator")
    page = client.get(reverse("admin:accounts_meter_changelist")).content.decode()
    assert 'value="replace"' not in page


def test_the_preview_shows_what_will_be_imported_new_or_updated(client):
    from accounts.tests.factories import PersonalAccountFactory

    PersonalAccountFactory(number="223456789")
    staff(client, "supervisor")
    text = (
        "account_number,meter_serial,zones,digits,address,t1,t2\n"
        "123456789,AB1,1,6,вул. Соборна 1,1500,\n"
        "223456789,CD2,2,6,вул. Шевченка 5,100,200\n"
        "12x,AB2,1,6,,,\n"
    )
    preview = client.get(upload(client, text)["Location"]).content.decode()
    assert "Що буде імпортовано: 2 рядки" in preview
    table = preview.split('<table id="preview">')[1].split("</table>")[0]
    rows = [re.findall(r"<td>(.*?)</td>", row) for row in table.split("<tr>")[2:]]
    assert rows == [
        ["123456789", "вул. Соборна 1", "—", "AB1", "1", "6", "1500", "новий рахунок"],
        ["223456789", "вул. Шевченка 5", "—", "CD2", "2", "6", "100/200", "оновлює рахунок"],
    ]
    assert not PersonalAccount.objects.filter(number="123456789").exists()  # shown, not written


def test_with_bad_rows_the_button_says_it_skips_them_and_does(client):
    staff(client, "supervisor")
    response = upload(client, WITH_BAD)
    preview = client.get(response["Location"]).content.decode()
    form = preview.split('<form method="post" action="')[1].split("</form>")[0]
    assert 'value="Імпортувати 1 рядок, пропустити 2 з помилками"' in form
    assert 'type="checkbox"' not in form  # nothing to tick before the button works
    # What the browser sends on that one click.
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    client.post(form.split('"')[0], fields)
    assert list(PersonalAccount.objects.values_list("number", flat=True)) == ["123456789"]


def test_a_file_with_no_good_row_offers_no_import(client):
    staff(client, "supervisor")
    preview = client.get(upload(client, "account_number,meter_serial,zones,digits\n12x,AB2,1,6\n")["Location"])
    page = preview.content.decode()
    assert 'id="import"' not in page
    assert "У файлі немає жодного рядка, який можна імпортувати" in page


def test_upload_times_are_kyiv_time_only(client):
    staff(client, "supervisor")
    # 01:30 in Kyiv is 23:30 UTC the day before.
    with time_machine.travel(kyiv(2026, 11, 24, 1, 30), tick=False):
        response = upload(client, GOOD)
    listing = client.get(reverse("admin:accounts_masterdataupload_changelist")).content.decode()
    preview = client.get(response["Location"]).content.decode()
    for page in (listing, preview):
        assert "01:30" in page
        assert "23:30" not in page and "23.11.2026" not in page and "2026-11-23" not in page
    assert "accounts.csv 24.11.2026 01:30" in preview  # the upload's name in the page's path
    assert "Хто завантажив" in preview and "Uploaded by" not in preview
