"""Master data from admin: upload, a preview of the bad rows with line numbers, then an import on purpose."""

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from accounts.errors import UploadHasBadRows
from accounts.models import MasterDataUpload, Meter, PersonalAccount
from accounts.tests.factories import UserFactory

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
