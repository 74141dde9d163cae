"""The middleware left out on the API's and the webhooks' paths (portal/lean.py): what they lose is
nothing they used, and the pages keep all of it."""

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_page_keeps_its_content_security_policy_and_frame_guard():
    answer = Client().get("/signin/")
    assert answer.status_code == 200
    assert "Content-Security-Policy" in answer
    assert answer["X-Frame-Options"] == "DENY"


def test_a_cabinet_form_without_its_csrf_token_is_still_refused():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    assert client.post("/link/", {"account_number": "123456789", "meter_serial": "AB1"}).status_code == 403


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
def test_the_api_answers_without_page_headers_or_cookies(client_class):
    get = client_class().get if client_class is Client else async_to_sync(client_class().get)
    answer = get("/api/v1/window/", {"on": "2026-11-24"})
    assert answer.status_code == 200
    assert answer.json()["period"] == "2026-12-01"
    assert "Content-Security-Policy" not in answer
    assert not answer.cookies


def test_the_api_still_refuses_a_cookie_session_post_without_the_csrf_token():
    """DRF checks CSRF itself for a request signed in by cookie: Django's middleware is not needed."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    answer = client.post(
        "/api/v1/accounts/", {"account_number": "123456789", "meter_serial": "AB1"}, content_type="application/json"
    )
    assert answer.status_code == 403
    assert "CSRF" in answer.json()["detail"]


def test_the_api_takes_a_cookie_session_with_the_csrf_token():
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    client.get("/settings/")  # a page with a form sets the CSRF cookie, as the cabinet does
    token = client.cookies["csrftoken"].value
    assert client.get("/api/v1/accounts/").status_code == 200
    answer = client.post(
        "/api/v1/accounts/",
        {"account_number": "123456789", "meter_serial": "AB1"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert answer.status_code == 400  # past CSRF, to the linking rules: no such account


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
@pytest.mark.parametrize("path", ["/telegram/webhook/", "/viber/webhook/", "/messenger/webhook/"])
def test_a_webhook_sets_no_cookie_and_needs_no_session(path, client_class, settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    post = client_class().post if client_class is Client else async_to_sync(client_class().post)
    answer = post(path, "{}", content_type="application/json")
    assert answer.status_code < 500
    assert not answer.cookies
    assert "Content-Security-Policy" not in answer
    assert "Cookie" not in answer.get("Vary", "")
