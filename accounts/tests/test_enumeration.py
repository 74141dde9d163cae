"""Account numbers cannot be enumerated: one answer for a failed proof, limits that hold.

An attacker who may sign up as often as they like, from one address, through the cabinet,
the quick form or the API, learns at most LINK_ATTEMPTS_PER_ADDRESS answers an hour, and
none of them says whether an account number exists. The bot's side is in
botbridge/tests/test_flows.py.
"""

import datetime as dt
import http.cookiejar
import importlib
import io
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.errors import DomainError
from accounts.importing import read_master_data
from accounts.linking import account_link
from accounts.masterdata import master_data_import
from accounts.models import AccountLink, LinkAttempt, Meter
from accounts.numbers import account_number_normalize, meter_serial_normalize
from accounts.tests.factories import MeterFactory, PersonalAccountFactory, UserFactory
from portal.tests.servers import PortalServer
from readings.models import Reading

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
PASSWORD = "соняшник-на-балконі-42"
NOW = "2026-11-28 10:00 +02:00"


@pytest.fixture
def limits(settings):
    """The documented defaults, whatever the environment says; quick password hashing for many sign-ups."""
    settings.LINK_ATTEMPTS_MAX = 5
    settings.LINK_ATTEMPTS_PER_ADDRESS = 20
    settings.LINK_ATTEMPTS_PER_ACCOUNT = 10
    settings.LINK_ATTEMPTS_PERIOD_SECONDS = 3600
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


@pytest.fixture
def home():
    return MeterFactory(account__number="123456789", serial="AB123")


def masked(text: str, *values: str) -> str:
    """The answer with the numbers the guesser typed taken out: what is left must not differ."""
    for value in values:
        text = text.replace(value, "…")
    return re.sub(r"csrfmiddlewaretoken\" value=\"[^\"]+", "", text)


# --- One answer for a failed proof, in every channel ----------------------------------------------


def test_the_service_answers_an_unknown_number_and_a_wrong_serial_alike_with_the_same_queries(home, limits):
    answers, queries = [], []
    for number, serial in (("999999999", "AB123"), ("123456789", "AB124")):
        user = UserFactory()
        with pytest.raises(DomainError) as refused, CaptureQueriesContext(connection) as captured:
            account_link(user=user, account_number=number, meter_serial=serial, ip_address="192.0.2.1")
        answers.append((refused.value.code, masked(refused.value.message, number, serial)))
        # The same statements, values aside: the same work, so no tell in the time either.
        queries.append([_shape(query["sql"]) for query in captured.captured_queries])
    assert answers[0] == answers[1]
    assert answers[0][0] == "account_meter_mismatch"
    assert queries[0] == queries[1]


def _shape(sql: str) -> str:
    """A statement without its values (strings, numbers, savepoint names) and spaces."""
    return re.sub(r"\s+", "", re.sub(r"'[^']*'|-?\s*\b\d+\b|\"s\d+_x\d+\"", "?", sql))


def test_the_cabinet_answers_an_unknown_number_and_a_wrong_serial_alike(client, home, limits):
    pages = []
    for number, serial in (("999999999", "AB123"), ("123456789", "AB124")):
        user = UserFactory()  # a fresh user each time: the tries left are the same
        client.force_login(user)
        response = client.post("/link/", {"account_number": number, "meter_serial": serial})
        pages.append((response.status_code, masked(response.content.decode(), number, serial, user.email)))
    assert pages[0] == pages[1]
    assert pages[0][0] == 400
    assert "Перевірте обидва номери" in pages[0][1]


def test_the_quick_form_answers_an_unknown_number_and_a_wrong_serial_alike(client, home, limits):
    pages = []
    for address, number, serial in (("192.0.2.1", "999999999", "AB123"), ("192.0.2.2", "123456789", "AB124")):
        form = {"account_number": number, "meter_serial": serial, "reading": "1200"}
        response = client.post("/quick/", form, REMOTE_ADDR=address)
        pages.append((response.status_code, masked(response.content.decode(), number, serial)))
    assert pages[0] == pages[1]
    assert pages[0][0] == 400
    assert "Ще 19 спроб" in pages[0][1]
    assert not Reading.objects.exists()


def test_the_api_answers_an_unknown_number_and_a_wrong_serial_alike(home, limits):
    answers = []
    for number, serial in (("999999999", "AB123"), ("123456789", "AB124")):
        client = APIClient()
        client.force_authenticate(UserFactory())
        body = {"account_number": number, "meter_serial": serial}
        answer = client.post("/api/v1/accounts/", body, format="json", REMOTE_ADDR=f"192.0.2.{len(answers) + 1}")
        answers.append((answer.status_code, answer.json()["code"], masked(answer.json()["detail"], number, serial)))
    assert answers[0] == answers[1]
    assert answers[0][:2] == (400, "account_meter_mismatch")


# --- The limits -------------------------------------------------------------------------------------


def sign_up(client, n: int) -> None:
    email = f"guesser{n}@example.net"
    response = client.post(
        "/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}, REMOTE_ADDR=ATTACKER
    )
    assert response.status_code == 302, "a sign-up is free"


def guess_in_cabinet(n: int, guesses: list[str]):
    from django.test import Client

    client = Client(REMOTE_ADDR=ATTACKER)
    sign_up(client, n)
    return [
        client.post("/link/", {"account_number": number, "meter_serial": "X1"}, REMOTE_ADDR=ATTACKER)
        for number in guesses
    ]


def guess_in_api(n: int, guesses: list[str]):
    from django.test import Client

    sign_up(Client(), n)
    api = APIClient(REMOTE_ADDR=ATTACKER)
    answer = api.post(
        "/api/v1/auth/token/", {"username": f"guesser{n}@example.net", "password": PASSWORD}, format="json"
    )
    api.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return [
        api.post("/api/v1/accounts/", {"account_number": number, "meter_serial": "X1"}, format="json")
        for number in guesses
    ]


def test_one_address_with_ever_new_sign_ups_tests_at_most_20_numbers_an_hour(limits, settings):
    """The attack as found: sign up again whenever a user's five tries are spent.

    Before: each sign-up brought five more answers, and the two codes told which numbers
    exist (6 numbers found in 15 s). Now: 20 answers an hour from the address, all alike.
    """
    # The limits live in the database: with no working cache (Redis down) they hold all the same.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    real = {MeterFactory(account__number=f"50000000{n}").account.number for n in range(6)}
    guesses = [f"50000000{n}" for n in range(60)]  # the six real numbers among them
    with time_machine.travel(NOW, tick=False) as clock:
        answers = []
        for n in range(12):  # 12 sign-ups x 5 guesses, by turns through the cabinet and the API
            batch = guesses[n * 5 : n * 5 + 5]
            guess = guess_in_cabinet if n % 2 else guess_in_api
            answers += zip(batch, guess(n, batch), strict=True)
        tested = [number for number, answer in answers if answer.status_code == 400]
        refused = [answer for _number, answer in answers if answer.status_code == 429]
        assert len(tested) == 20
        assert len(refused) == 40
        assert all(1 <= int(answer["Retry-After"]) <= 3600 for answer in refused)
        assert "Спробуйте знову через 60 хв" in refused[-1].content.decode()
        # Every answer the attacker got is the same one, real number or not.
        api_codes = {answer.json()["code"] for _n, answer in answers if answer.status_code == 400 and _is_json(answer)}
        assert api_codes == {"account_meter_mismatch"}
        assert real & set(tested), "the real numbers were among the guesses answered"
        # An hour later the address has 20 more: 20 numbers an hour at most.
        clock.shift(dt.timedelta(minutes=61))
        later = guess_in_cabinet(100, guesses[20:26]) + guess_in_api(101, guesses[26:32])
        assert [answer.status_code for answer in later].count(400) == 10  # two fresh users, 5 each
    assert LinkAttempt.objects.filter(network=ATTACKER).count() == 30


def _is_json(answer) -> bool:
    return answer["Content-Type"].startswith("application/json")


def test_guessing_one_accounts_serial_from_many_addresses_stops_at_the_account_limit(client, home, limits):
    for n in range(10):
        client.force_login(UserFactory())
        response = client.post(
            "/link/", {"account_number": "123456789", "meter_serial": f"AB{n}"}, REMOTE_ADDR=f"198.51.100.{n}"
        )
        assert response.status_code == 400
    # A fresh user at a fresh address, even with the right serial: the account's budget is spent.
    client.force_login(UserFactory())
    right = {"account_number": "123456789", "meter_serial": "AB123", "reading": "1200"}
    response = client.post("/quick/", right, REMOTE_ADDR="192.0.2.200")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 3500
    # Another account is not held back.
    other = MeterFactory(account__number="987654321", serial="CD1")
    response = client.post("/link/", {"account_number": "987654321", "meter_serial": "CD1"}, REMOTE_ADDR="192.0.2.200")
    assert response.status_code == 302
    assert AccountLink.objects.filter(account=other.account).exists()


def test_an_ipv6_host_gets_no_new_tries_from_other_addresses_of_its_64(client, limits, settings):
    settings.LINK_ATTEMPTS_PER_ADDRESS = 3
    form = {"meter_serial": "X1", "reading": "1200"}
    codes = [
        client.post(
            "/quick/", {**form, "account_number": f"70000000{n}"}, REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}"
        ).status_code
        for n in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    # The next /64 is someone else.
    other = client.post("/quick/", {**form, "account_number": "700000009"}, REMOTE_ADDR="2001:db8:1:3::1")
    assert other.status_code == 400


# --- The race --------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("budget", "limit"), [("user", 5), ("address", 20)])
def test_a_burst_of_concurrent_wrong_guesses_gets_no_more_answers_than_the_limit(on_postgres, limits, budget, limit):
    """30 wrong guesses at the same moment: without the lock each counts the same few earlier
    attempts and more than the limit get answered."""
    MeterFactory(account__number="123456789", serial="AB123")
    burst = 30
    one_user = UserFactory()
    # Made beforehand: a thread holds a pooled connection only from the barrier on.
    users = [one_user if budget == "user" else UserFactory() for _ in range(burst)]
    start = threading.Barrier(burst)
    codes: list[str] = []

    def guess(n: int) -> None:
        try:
            user = users[n]
            address = f"192.0.2.{n}" if budget == "user" else ATTACKER
            start.wait()
            account_link(user=user, account_number=f"60000{n:04d}", meter_serial="X1", ip_address=address)
        except DomainError as refusal:
            codes.append(refusal.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(burst)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    answered = [code for code in codes if code != "too_many_attempts"]
    assert len(answered) == limit
    assert set(answered) == {"account_meter_mismatch"}
    assert LinkAttempt.objects.count() == limit


# --- Serials and numbers as phones type them --------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "serial"),
    [
        ("ＡＢ１２３", "AB123"),  # full-width, as some phone keyboards send
        ("АВ123", "AB123"),  # Cyrillic А and В
        ("ав 123", "AB123"),
        ("СЕ-КМНОРТХ", "CE-KMHOPTX"),
        ("іу7", "IY7"),
        ("Ж1", "Ж1"),  # a Cyrillic letter with no Latin twin stays
        ("AB123", "AB123"),
    ],
)
def test_a_serial_is_read_as_the_resident_meant_it(typed, serial):
    assert meter_serial_normalize(typed) == serial


def test_an_account_number_in_full_width_digits_is_read():
    assert account_number_normalize("１２３ ４５６－７８９") == "123456789"


def test_a_serial_typed_in_look_alikes_links_the_account(home, limits):
    user = UserFactory()
    link = account_link(user=user, account_number="１２３４５６７８９", meter_serial="ＡＢ１２３")
    assert link.account == home.account
    link.delete()
    assert account_link(user=user, account_number="123456789", meter_serial="ав123").account == home.account
    assert not LinkAttempt.objects.exists()


def test_the_import_stores_serials_as_residents_type_them():
    csv = "account_number,meter_serial,zones,digits\n１２３４５６７８９,АВ123,1,6\n"
    master_data_import(rows=read_master_data(io.StringIO(csv, newline="")))
    assert list(Meter.objects.values_list("account__number", "serial")) == [("123456789", "AB123")]


def test_the_data_migration_normalises_stored_serials_and_keeps_a_clash():
    migration = importlib.import_module("accounts.migrations.0010_meter_serials_normalize")
    account, clash = PersonalAccountFactory(), PersonalAccountFactory()
    # Written past the service, as rows imported before the normalisation may be.
    cyrillic = Meter.objects.create(account=account, serial="АВ123", zones=1, digits=6)
    wide = Meter.objects.create(account=account, serial="ＣＤ９", zones=1, digits=6)
    latin = Meter.objects.create(account=clash, serial="EK1", zones=1, digits=6)
    twin = Meter.objects.create(account=clash, serial="ЕК1", zones=1, digits=6, is_active=False)
    migration.serials_normalize(apps, None)
    for meter in (cyrillic, wide, latin, twin):
        meter.refresh_from_db()
    assert (cyrillic.serial, wide.serial, latin.serial) == ("AB123", "CD9", "EK1")
    assert twin.serial == "ЕК1"  # (account, serial) is unique: left for staff, named in the log


# --- Over HTTP, against the running portal ---------------------------------------------------------


class Browser:
    """A browser of its own (cookies, CSRF token) against the portal over HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def post(self, path: str, form: dict, **headers: str) -> tuple[int, str | None]:
        """Fill the form on `path` and send it: the status and the Retry-After of the answer."""
        page = self.opener.open(self.base_url + path).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **form}).encode()
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers)
        try:
            with self.opener.open(request) as answer:
                return answer.status, None
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers.get("Retry-After")


@pytest.mark.django_db(transaction=True)
def test_over_http_new_sign_ups_and_a_new_x_forwarded_for_get_no_new_tries(server_env, stack):
    """The portal behind no trusted proxy, as an attacker meets it: the quick form with a new
    X-Forwarded-For each time, then sign-up after sign-up in the cabinet, all from one machine."""
    MeterFactory(account__number="123456789", serial="AB123")
    answers = []
    with PortalServer(server_env, stack=stack) as portal:
        anonymous = Browser(portal.base_url)
        for n in range(10):
            form = {"account_number": f"80000{n:04d}", "meter_serial": "X1", "reading": "1"}
            answers.append(anonymous.post("/quick/", form, **{"X-Forwarded-For": f"198.51.100.{n}"}))
        for user in range(4):
            browser = Browser(portal.base_url)
            email = f"guesser{user}@example.net"
            assert browser.post("/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})[0] == 200
            for n in range(5):
                form = {"account_number": f"81000{user}{n:03d}", "meter_serial": "X1"}
                answers.append(browser.post("/link/", form))
    statuses = [status for status, _retry_after in answers]
    assert statuses == [400] * 20 + [429] * 10
    assert all(3500 < int(retry_after) <= 3600 for status, retry_after in answers if status == 429)
    assert LinkAttempt.objects.filter(network="127.0.0.1").count() == 20
