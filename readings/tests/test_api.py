"""REST API v1, end to end through the test client, as residents, billing and strangers use it."""

import csv
import io
import warnings

import openpyxl
import pytest
import time_machine
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from accounts.linking import account_link
from accounts.models import AccountLink
from accounts.tests.factories import MeterFactory, PersonalAccountFactory, UserFactory
from conftest import kyiv
from readings.models import Reading
from readings.services import reading_submit

pytestmark = pytest.mark.django_db
IN_WINDOW = "2026-11-28 10:00 +02:00"


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()


@pytest.fixture
def home():
    return MeterFactory(account__number="123456789", account__address="вул. Соборна, 123", serial="AB123")


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def maria(home):
    user = UserFactory(username="maria")
    account_link(user=user, account_number="123456789", meter_serial="AB123")
    return api_as(user)


def test_window_is_public_and_matches_the_command():
    answer = APIClient().get("/api/v1/window/", {"on": "2026-11-24"})
    assert answer.status_code == 200
    assert answer.json() == {
        "date": "2026-11-24",
        "period": "2026-12-01",
        "opens": "2026-11-27",
        "closes": "2026-12-03",
        "is_open": False,
    }


@pytest.mark.parametrize("on", ["24.11.2026", "2026-13-01", "", "x" * 500])
def test_window_refuses_a_bad_date_with_a_code(on):
    answer = APIClient().get("/api/v1/window/", {"on": on})
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid"
    assert "YYYY-MM-DD" in answer.json()["fields"]["on"][0]


def test_token_issue_use_and_revoke():
    user = UserFactory(username="billing2")
    user.set_password("s3cret-pass!")
    user.save()
    client = APIClient()
    answer = client.post("/api/v1/auth/token/", {"username": "billing2", "password": "s3cret-pass!"}, format="json")
    assert answer.status_code == 200
    token = answer.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/accounts/").status_code == 200
    assert client.delete("/api/v1/auth/token/").status_code == 204
    assert client.get("/api/v1/accounts/").status_code == 401


def test_a_wrong_password_gets_no_token():
    UserFactory(username="maria")
    answer = APIClient().post("/api/v1/auth/token/", {"username": "maria", "password": "guess"}, format="json")
    assert answer.status_code == 401
    assert answer.json()["code"] == "authentication_failed"


def test_token_requests_are_throttled_per_ip_with_retry_after(monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "token", "3/min")
    client = APIClient()
    codes = [
        client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}, format="json").status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    answer = client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}, format="json")
    assert answer.json()["code"] == "throttled"
    assert int(answer["Retry-After"]) > 0


def test_submissions_are_throttled_per_user(maria, monkeypatch):
    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "submit", "2/hour")
    with time_machine.travel(IN_WINDOW, tick=False):
        codes = [
            maria.post("/api/v1/accounts/123456789/readings/", {"value": str(1250 + n)}, format="json").status_code
            for n in range(3)
        ]
    assert codes == [201, 201, 429]
    assert maria.get("/api/v1/accounts/123456789/readings/").status_code == 200  # reading stays free


def test_accounts_need_authentication():
    answer = APIClient().get("/api/v1/accounts/")
    assert answer.status_code == 401
    assert answer.json()["code"] == "not_authenticated"


def test_linking_and_listing_show_the_masked_address_and_the_last_reading(home):
    reading_submit(meter=home, text="1250", channel="web", submitted_at=kyiv(2026, 11, 28))
    client = api_as(UserFactory())
    answer = client.post("/api/v1/accounts/", {"account_number": "123456789", "meter_serial": "ab123"}, format="json")
    assert answer.status_code == 201
    assert answer.json() == {
        "number": "123456789",
        "address": "вул. Соборна, 1**",
        "meters": [
            {
                "serial": "AB123",
                "zones": 1,
                "digits": 6,
                "last_reading": {"values": [1250], "period": "2026-12-01", "submitted_at": "2026-11-28T12:00:00+02:00"},
            }
        ],
    }
    assert client.get("/api/v1/accounts/").json() == [answer.json()]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"account_number": "999999999", "meter_serial": "AB123"}, 400, "account_meter_mismatch"),
        ({"account_number": "123456789", "meter_serial": "ZZ1"}, 400, "account_meter_mismatch"),
        ({"account_number": "12", "meter_serial": "AB123"}, 400, "account_number_invalid"),
        ({"account_number": "123456789"}, 400, "invalid"),
        ({"account_number": 123456789, "meter_serial": ["AB123"]}, 400, "invalid"),
        ({"account_number": "123456789", "meter_serial": "AB123", "admin": True}, 400, "invalid"),
    ],
)
def test_linking_refusals_have_codes(home, body, status, code):
    answer = api_as(UserFactory()).post("/api/v1/accounts/", body, format="json")
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert not AccountLink.objects.exists()


def test_linking_twice_is_a_conflict(maria):
    answer = maria.post("/api/v1/accounts/", {"account_number": "123456789", "meter_serial": "AB123"}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (409, "already_linked")


def test_linking_attempts_are_throttled_per_user(home, settings):
    settings.LINK_ATTEMPTS_MAX = 3
    client = api_as(UserFactory())
    codes = [
        client.post("/api/v1/accounts/", {"account_number": f"10000000{n}", "meter_serial": "X"}, format="json")
        for n in range(4)
    ]
    assert [answer.status_code for answer in codes] == [400, 400, 400, 429]
    assert codes[-1].json()["code"] == "too_many_attempts"
    assert int(codes[-1]["Retry-After"]) > 0


def test_unlink(maria):
    assert maria.delete("/api/v1/accounts/123456789/").status_code == 204
    answer = maria.delete("/api/v1/accounts/123456789/")
    assert (answer.status_code, answer.json()["code"]) == (404, "not_linked")


def test_a_reading_in_the_window_is_accepted(maria):
    with time_machine.travel(IN_WINDOW, tick=False):
        answer = maria.post("/api/v1/accounts/123456789/readings/", {"value": "1250"}, format="json")
    assert answer.status_code == 201
    body = answer.json()
    assert {k: body[k] for k in ("period", "status", "values", "consumption", "channel")} == {
        "period": "2026-12-01",
        "status": "accepted",
        "values": [1250],
        "consumption": [250],
        "channel": "api",
    }
    assert Reading.objects.get().ip_address == "127.0.0.1"


def test_outside_the_window_it_is_a_control_reading_with_the_next_window(maria):
    with time_machine.travel("2026-11-24 10:00 +02:00", tick=False):
        answer = maria.post("/api/v1/accounts/123456789/readings/", {"values": [1250]}, format="json")
    assert answer.status_code == 201
    assert answer.json()["status"] == "control"
    assert answer.json()["next_window"]["opens"] == "2026-11-27"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"value": "12,5"}, 400, "reading_decimal"),
        ({"value": "1111/2222"}, 400, "reading_zone_count"),
        ({"value": "abc"}, 400, "reading_not_a_number"),
        ({"value": "999"}, 400, "reading_decrease"),
        ({"value": "9000"}, 409, "confirmation_required"),
        ({"values": [1250, 1]}, 400, "reading_zone_count"),
        ({"values": ["1250"]}, 400, "invalid"),
        ({"values": [-1]}, 400, "invalid"),
        ({"values": [True]}, 400, "invalid"),
        ({"value": "1250", "values": [1250]}, 400, "invalid"),
        ({}, 400, "invalid"),
        ({"value": "1250", "extra": 1}, 400, "invalid"),
        ({"value": "1" * 65}, 400, "invalid"),
        ({"value": "1250", "meter": "NOPE"}, 400, "account_meter_mismatch"),
        ({"value": "1250", "confirm": "maybe"}, 400, "invalid"),
    ],
)
def test_reading_refusals_have_codes_and_write_nothing(maria, body, status, code):
    with time_machine.travel(IN_WINDOW, tick=False):
        answer = maria.post("/api/v1/accounts/123456789/readings/", body, format="json")
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.json()
    assert answer.json()["detail"]
    assert not Reading.objects.exists()


def test_an_unusual_jump_says_why_and_confirm_saves_it_for_review(maria):
    with time_machine.travel(IN_WINDOW, tick=False):
        question = maria.post("/api/v1/accounts/123456789/readings/", {"value": "9000"}, format="json")
        assert question.json()["reason"] == "unusual_jump"
        answer = maria.post("/api/v1/accounts/123456789/readings/", {"value": "9000", "confirm": True}, format="json")
    assert answer.json()["status"] == "needs_review"


def test_an_account_with_two_meters_needs_the_serial(db):
    account = PersonalAccountFactory(number="123456789")
    MeterFactory(account=account, serial="AB123")
    MeterFactory(account=account, serial="CD456")
    user = UserFactory()
    account_link(user=user, account_number="123456789", meter_serial="AB123")
    client = api_as(user)
    with time_machine.travel(IN_WINDOW, tick=False):
        answer = client.post("/api/v1/accounts/123456789/readings/", {"value": "1250"}, format="json")
        assert (answer.status_code, answer.json()["code"]) == (400, "meter_required")
        assert "AB123, CD456" in answer.json()["detail"]
        answer = client.post("/api/v1/accounts/123456789/readings/", {"value": "1250", "meter": "cd456"}, format="json")
    assert answer.json()["meter"] == "CD456"


def test_the_idempotency_key_repeats_the_first_answer_and_creates_nothing_new(maria):
    headers = {"HTTP_IDEMPOTENCY_KEY": "pay-2026-11-28-abc"}
    with time_machine.travel(IN_WINDOW, tick=False):
        first = maria.post("/api/v1/accounts/123456789/readings/", {"value": "1250"}, format="json", **headers)
        again = maria.post("/api/v1/accounts/123456789/readings/", {"value": "1250"}, format="json", **headers)
        other = maria.post("/api/v1/accounts/123456789/readings/", {"value": "1300"}, format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert Reading.objects.count() == 1
    assert (other.status_code, "Idempotency-Key" in other.json()["fields"]) == (400, True)


def test_history_is_paginated_newest_first(maria, home):
    for day, value in ((kyiv(2026, 10, 29), "1100"), (kyiv(2026, 11, 28), "1250")):
        reading_submit(meter=home, text=value, channel="web", submitted_at=day)
    answer = maria.get("/api/v1/accounts/123456789/readings/", {"page_size": 1})
    assert answer.json()["count"] == 2
    assert [r["values"] for r in answer.json()["results"]] == [[1250]]
    assert answer.json()["next"]


def test_a_resident_never_sees_or_touches_someone_elses_account(maria, home):
    stranger = api_as(UserFactory(username="stranger"))
    for method, path, body in (
        ("get", "/api/v1/accounts/123456789/readings/", None),
        ("post", "/api/v1/accounts/123456789/readings/", {"value": "1250"}),
        ("delete", "/api/v1/accounts/123456789/", None),
    ):
        answer = getattr(stranger, method)(path, body, format="json")
        assert answer.status_code == 404, (method, path)
    assert stranger.get("/api/v1/accounts/").json() == []
    assert stranger.get("/api/v1/export/readings/", {"period": "2026-12-01"}).status_code == 403
    assert not Reading.objects.exists()


def billing_user():
    """The billing system's user: staff with the export permission (supervisors have it too)."""
    user = UserFactory(username="billing", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="export_readings"))
    return user


def test_staff_without_the_export_permission_may_not_export():
    operator = UserFactory(username="operator", is_staff=True)
    operator.groups.add(Group.objects.get(name="operator"))
    assert api_as(operator).get("/api/v1/export/readings/", {"period": "2026-12-01"}).status_code == 403


def test_staff_export_csv_and_xlsx(home):
    home.account.eic = "62Z1234567890123"
    home.account.save()
    reading_submit(meter=home, text="1250", channel="telegram", submitted_at=kyiv(2026, 11, 28))
    staff = api_as(billing_user())
    answer = staff.get("/api/v1/export/readings/", {"period": "2026-12-01"})
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode())))
    assert rows[0][:4] == ["account_number", "eic", "meter_serial", "zones"]
    assert rows[1] == [
        "123456789", "62Z1234567890123", "AB123", "1", "1250", "", "", "250", "", "", "accepted", "telegram",
        "2026-11-28T12:00:00+02:00",
    ]  # fmt: skip
    answer = staff.get("/api/v1/export/readings/", {"period": "2026-12-01", "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(answer.streaming_content))).active
    assert [cell.value for cell in sheet[2]][:5] == ["123456789", "62Z1234567890123", "AB123", 1, 1250]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_export_streams_under_asgi_without_reading_everything_first(home, kind, async_client):
    reading_submit(meter=home, text="1250", channel="web", submitted_at=kyiv(2026, 11, 28))
    async_client.force_login(billing_user())

    async def download() -> tuple[int, bytes]:
        answer = await async_client.get("/api/v1/export/readings/", {"period": "2026-12-01", "format": kind})
        return answer.status_code, b"".join([chunk async for chunk in answer.streaming_content])

    with warnings.catch_warnings():
        # Django warns when it must read a synchronous iterator whole before sending it.
        warnings.filterwarnings("error", message="StreamingHttpResponse must consume synchronous iterators")
        status, body = async_to_sync(download)()
    assert status == 200
    assert (b"123456789" in body) if kind == "csv" else body.startswith(b"PK")


@pytest.mark.parametrize(
    "query", [{}, {"period": "2026-12-02"}, {"period": "12.2026"}, {"period": "2026-12-01", "format": "pdf"}]
)
def test_export_refuses_a_bad_period_or_format(query):
    answer = api_as(billing_user()).get("/api/v1/export/readings/", query)
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid")


@pytest.mark.parametrize(
    ("payload", "content_type", "status", "code"),
    [
        ("{not json", "application/json", 400, "parse_error"),
        ('"just a string"', "application/json", 400, "invalid"),
        ("[1, 2]", "application/json", 400, "invalid"),
        ('{"value": "' + "9" * 20000 + '"}', "application/json", 413, "body_too_large"),
        ("value=1250", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ('{"value": "\\u0000\\ud83d"}', "application/json", 400, None),
    ],
)
def test_malformed_bodies_are_clear_4xx_and_write_nothing(maria, payload, content_type, status, code):
    answer = maria.generic("POST", "/api/v1/accounts/123456789/readings/", payload, content_type=content_type)
    assert answer.status_code == status
    if code:
        assert answer.json()["code"] == code
    assert not Reading.objects.exists()


def test_schema_and_docs_are_served_by_the_portal(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/accounts/{number}/readings/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    assert "cdn" not in docs.lower() and "https://" not in docs.replace("https://swagger.io", "")


# --- Crafted input: a 4xx in the error shape, never a 500 --------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        "[" * 3000 + "]" * 3000,  # 6 KB: Python's json parser recurses past the stack's limit
        '{"username": ' + "[" * 500 + "]" * 500 + ', "password": "x"}',  # parses, but no call takes it
    ],
)
def test_deeply_nested_json_is_a_parse_error_even_for_anonymous_callers(maria, payload):
    for client, url in [(APIClient(), "/api/v1/auth/token/"), (maria, "/api/v1/accounts/123456789/readings/")]:
        answer = client.generic("POST", url, payload, content_type="application/json")
        assert (answer.status_code, answer.json()["code"]) == (400, "parse_error")
        assert "вкладено надто глибоко" in answer.json()["detail"]
    assert not Reading.objects.exists()


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01"])
def test_the_window_of_a_date_outside_the_reckoned_years_is_a_400_naming_them(day):
    answer = APIClient().get("/api/v1/window/", {"on": day})
    assert answer.status_code == 400
    assert answer.json() == {"code": "date_out_of_range", "detail": "Укажіть дату від 2000-01-01 до 2100-12-31."}


@pytest.mark.parametrize(("day", "period"), [("2000-01-01", "2000-01-01"), ("2100-12-31", "2101-01-01")])
def test_the_first_and_last_reckoned_days_have_a_window(day, period):
    answer = APIClient().get("/api/v1/window/", {"on": day})
    assert (answer.status_code, answer.json()["period"]) == (200, period)
