"""API tokens: they expire, a new password revokes them by every path, and the resident sees and
revokes them in the cabinet; staff issue them in admin."""

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core import mail
from django.core.cache import cache
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tokens import api_token_issue

pytestmark = pytest.mark.django_db

EMAIL = "maria@example.com"
PASSWORD = "соняшник-на-балконі-42"


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()


@pytest.fixture
def maria() -> User:
    return User.objects.create_user(username=EMAIL, email=EMAIL, password=PASSWORD)


def issued_token(username: str = EMAIL, password: str = PASSWORD) -> str:
    answer = APIClient().post("/api/v1/auth/token/", {"username": username, "password": password}, format="json")
    assert answer.status_code == 200, answer.content
    return answer.json()["token"]


def works(token: str) -> bool:
    status = APIClient(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/accounts/").status_code
    assert status in (200, 401)
    return status == 200


def test_a_token_is_issued_with_its_expiry_and_stored_only_hashed(maria):
    answer = APIClient().post("/api/v1/auth/token/", {"username": EMAIL, "password": PASSWORD}, format="json")

    token = answer.json()["token"]
    stored = AuthToken.objects.get(user=maria)
    assert token not in (stored.digest, stored.token_key)
    expiry = dt.datetime.fromisoformat(answer.json()["expiry"])
    assert dt.timedelta(days=89) < expiry - stored.created <= dt.timedelta(days=90)
    assert works(token)


def test_an_expired_token_is_refused(maria):
    token = issued_token()
    with time_machine.travel(dt.timedelta(days=90, minutes=1)):
        assert not works(token)


def test_delete_revokes_only_the_token_it_is_sent_with(maria):
    first, second = issued_token(), issued_token()
    assert APIClient(HTTP_AUTHORIZATION=f"Token {first}").delete("/api/v1/auth/token/").status_code == 204
    assert (works(first), works(second)) == (False, True)


def test_a_password_reset_revokes_the_tokens(client, maria):
    token = issued_token()
    client.post("/password/reset/", {"email": EMAIL})
    link = re.search(r"http://testserver(/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    new = "нова-" + PASSWORD
    client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})

    assert not works(token)
    assert works(issued_token(password=new))


def test_a_password_change_in_admin_revokes_the_tokens(client, maria):
    token = issued_token()
    client.force_login(User.objects.create_superuser("admin", "admin@example.com", "admin-pass-1234"))
    new = "нова-" + PASSWORD
    answer = client.post(f"/admin/accounts/user/{maria.pk}/password/", {"password1": new, "password2": new})

    assert answer.status_code == 302
    assert not works(token)


def test_a_password_set_anywhere_else_revokes_them_too(maria):
    # As `manage.py changepassword` and a shell do it: set_password() and save().
    token = issued_token()
    maria.set_password("нова-" + PASSWORD)
    maria.save()
    assert not works(token)


def test_the_oldest_token_goes_past_the_limit_per_user(settings, maria):
    settings.API_TOKENS_PER_USER = 2
    keys = [api_token_issue(user=maria)[1] for _ in range(3)]
    assert [works(key) for key in keys] == [False, True, True]


# --- The cabinet's page -------------------------------------------------------------------------


def test_the_cabinet_lists_the_residents_tokens_and_revokes_one_or_all(client, maria):
    first, second = issued_token(), issued_token()
    someone_elses = issued_token(*other_resident())
    client.force_login(maria)

    page = client.get("/settings/api-tokens/").content.decode()
    assert first[:8] in page and second[:8] in page
    assert someone_elses[:8] not in page
    assert first not in page and second not in page  # a prefix, never the secret
    assert "діє до" in page

    digest = AuthToken.objects.get(token_key=first[:15]).digest
    assert client.post("/settings/api-tokens/", {"token": digest}).status_code == 302
    assert (works(first), works(second)) == (False, True)

    client.post("/settings/api-tokens/", {"all": "1"})
    assert not works(second)
    assert works(someone_elses)
    assert "У вас немає токенів API" in client.get("/settings/api-tokens/").content.decode()


def test_the_cabinet_cannot_revoke_someone_elses_token(client, maria):
    someone_elses = issued_token(*other_resident())
    client.force_login(maria)
    client.post("/settings/api-tokens/", {"token": AuthToken.objects.get().digest})
    assert works(someone_elses)


def other_resident() -> tuple[str, str]:
    User.objects.create_user(username="petro@example.com", password="petro-pass-1234")
    return "petro@example.com", "petro-pass-1234"


# --- Admin --------------------------------------------------------------------------------------


def test_staff_issue_a_token_in_admin_that_expires_and_is_shown_once(client, maria):
    supervisor = UserFactory(username="supervisor", is_staff=True)
    supervisor.groups.add(Group.objects.get(name="supervisor"))
    client.force_login(supervisor)

    answer = client.post("/admin/knox/authtoken/add/", {"user": maria.pk}, follow=True)

    assert answer.status_code == 200
    key = re.search(r"\b([0-9a-f]{64})\b", answer.content.decode()).group(1)
    assert works(key)
    assert AuthToken.objects.get(user=maria).expiry is not None
    assert key not in client.get("/admin/knox/authtoken/").content.decode()
