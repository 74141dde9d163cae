"""Password guessing: every place that takes a password counts failures per account name and per
client address, and refuses for a while past the limit, even the right password."""

import datetime as dt
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.test import Client

from accounts.models import User
from portal.tests.servers import PortalServer

pytestmark = pytest.mark.django_db

LIMIT = 3
EMAIL = "maria@example.com"
PASSWORD = "соняшник-на-балконі-42"
ATTACKER = "203.0.113.9"
RESIDENT_HOME = "198.51.100.7"
LOCKED = "Забагато невдалих спроб входу"


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    cache.clear()  # the API's own per-address throttle counts in the cache
    return settings


@pytest.fixture
def maria() -> User:
    return User.objects.create_user(username=EMAIL, email=EMAIL, password=PASSWORD)


def signed_in_user(client) -> User | None:
    return client.session.get("_auth_user_id") and User.objects.get(pk=client.session["_auth_user_id"])


def sign_in(client: Client, password: str, username: str = EMAIL, address: str = ATTACKER, **headers):
    return client.post("/signin/", {"username": username, "password": password}, REMOTE_ADDR=address, **headers)


def token(client: Client, password: str, username: str = EMAIL, address: str = ATTACKER, **headers):
    body = {"username": username, "password": password}
    return client.post("/api/v1/auth/token/", body, content_type="application/json", REMOTE_ADDR=address, **headers)


# --- Each place that takes a password -----------------------------------------------------------


def test_the_cabinet_refuses_even_the_right_password_while_locked(client, maria):
    codes = [sign_in(client, "wrong").status_code for _ in range(LIMIT)]
    answer = sign_in(client, PASSWORD)

    assert codes == [200] * (LIMIT - 1) + [429]  # the last failure already says so
    assert answer.status_code == 429
    assert LOCKED in answer.content.decode()
    assert re.search(r"Спробуйте знову після \d\d:\d\d \(за 15 хв\)", answer.content.decode())
    assert 840 < int(answer["Retry-After"]) <= 900
    assert signed_in_user(client) is None


def test_admin_login_refuses_even_the_right_password_while_locked(client):
    User.objects.create_user(username="staff", password=PASSWORD, is_staff=True, is_superuser=True)
    for _ in range(LIMIT):
        client.post("/admin/login/", {"username": "staff", "password": "wrong"}, REMOTE_ADDR=ATTACKER)
    answer = client.post("/admin/login/?next=/admin/", {"username": "staff", "password": PASSWORD})

    assert answer.status_code == 429
    assert LOCKED in answer.content.decode()
    assert client.get("/admin/").status_code == 302  # still on the login page


def test_the_api_refuses_a_token_for_the_right_password_while_locked(client, maria):
    codes = [token(client, "wrong").status_code for _ in range(LIMIT)]
    answer = token(client, PASSWORD)

    assert codes == [401] * (LIMIT - 1) + [429]
    assert answer.status_code == 429
    assert answer.json()["code"] == "too_many_signin_attempts"
    assert LOCKED in answer.json()["detail"]
    assert 840 < int(answer["Retry-After"]) <= 900


def test_the_lock_ends_after_the_cool_off(client, maria):
    with time_machine.travel(dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC), tick=False) as clock:
        for _ in range(LIMIT):
            token(client, "wrong")
        clock.shift(dt.timedelta(minutes=14))
        cache.clear()
        assert token(client, PASSWORD).status_code == 429
        clock.shift(dt.timedelta(minutes=1, seconds=1))
        assert token(client, PASSWORD).status_code == 200


# --- Keys: the account name and the address -----------------------------------------------------


def test_a_lock_on_the_name_holds_from_any_address_but_a_password_reset_lets_the_resident_in(client, maria):
    for _ in range(LIMIT):
        sign_in(client, "wrong", address=ATTACKER)
    assert sign_in(client, PASSWORD, address=RESIDENT_HOME).status_code == 429  # the name is locked

    client.post("/password/reset/", {"email": EMAIL}, REMOTE_ADDR=RESIDENT_HOME)
    link = re.search(r"http://testserver(/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True, REMOTE_ADDR=RESIDENT_HOME)
    new = "нова-" + PASSWORD
    client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new}, REMOTE_ADDR=RESIDENT_HOME)

    assert signed_in_user(client) == maria  # in at once, from the emailed link
    client.post("/signout/")
    assert sign_in(client, new, address=RESIDENT_HOME).status_code == 302  # and the name is free again


def test_a_rotating_x_forwarded_for_gets_no_new_attempts(client, settings):
    settings.TRUSTED_PROXIES = 0
    # A new name each time, so only the address can be what stops them.
    codes = [
        token(client, "wrong", username=f"guess{n}", HTTP_X_FORWARDED_FOR=f"10.0.{n}.1").status_code
        for n in range(LIMIT + 2)
    ]

    assert codes == [401] * (LIMIT - 1) + [429] * 3


def test_signing_in_to_an_own_account_between_guesses_does_not_reset_the_address(client, maria):
    User.objects.create_user(username="mallory@example.com", password="mallory-own-password-1")
    for _ in range(LIMIT - 1):
        sign_in(client, "wrong")
        assert sign_in(client, "mallory-own-password-1", username="mallory@example.com").status_code == 302
        client.post("/signout/")

    assert sign_in(client, "wrong", username="other@example.com").status_code == 429


def test_the_resident_signing_in_does_not_forgive_guesses_made_elsewhere(client, maria):
    for _ in range(LIMIT - 1):
        sign_in(client, "wrong", address=ATTACKER)
    assert sign_in(client, PASSWORD, address=RESIDENT_HOME).status_code == 302
    client.post("/signout/")

    assert sign_in(client, "wrong", address=ATTACKER).status_code == 429  # the name's count went on


def test_a_resident_signing_in_forgets_their_own_failures(client, maria):
    for _ in range(LIMIT - 1):
        sign_in(client, "wrong", address=RESIDENT_HOME)
    assert sign_in(client, PASSWORD, address=RESIDENT_HOME).status_code == 302
    client.post("/signout/")

    codes = [sign_in(client, "wrong", address=RESIDENT_HOME).status_code for _ in range(LIMIT)]
    assert codes == [200] * (LIMIT - 1) + [429]  # a full allowance again, no more


# --- Over HTTP, as an attacker meets it ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_over_http_a_flood_of_guesses_is_locked_out_on_the_api_and_the_cabinet(server_env, stack):
    User.objects.create_user(username=EMAIL, email=EMAIL, password=PASSWORD)
    with PortalServer({**server_env, "LOGIN_ATTEMPTS_MAX": str(LIMIT)}, stack=stack) as portal:
        codes = [post_json(f"{portal.base_url}/api/v1/auth/token/", EMAIL, "wrong")[0] for _ in range(LIMIT)]
        status, body, headers = post_json(f"{portal.base_url}/api/v1/auth/token/", EMAIL, PASSWORD)
        assert codes == [401] * (LIMIT - 1) + [429]
        assert (status, body["code"]) == (429, "too_many_signin_attempts")
        assert int(headers["Retry-After"]) > 0

        # The cabinet under ASGI: the sign-in form itself says why, with 429.
        status, page = cabinet_sign_in(portal.base_url, EMAIL, PASSWORD)
        assert status == 429
        assert LOCKED in page
        assert 'name="password"' in page


def post_json(url: str, username: str, password: str) -> tuple[int, dict, dict]:
    data = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read()), dict(answer.headers)
    except urllib.error.HTTPError as refusal:
        return refusal.code, json.loads(refusal.read()), dict(refusal.headers)


def cabinet_sign_in(base_url: str, username: str, password: str) -> tuple[int, str]:
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with browser.open(f"{base_url}/signin/", timeout=30) as form:
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.read().decode()).group(1)
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf, "username": username, "password": password})
    try:
        with browser.open(f"{base_url}/signin/", data.encode(), timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refusal:
        return refusal.code, refusal.read().decode()
