"""The cabinet's account pages through the test client: sign-up, sign-in, linking, settings."""

import re
import time

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import translation

from accounts.errors import (
    AccountMeterMismatch,
    AlreadyLinked,
    NotLinked,
    SignInLinkInvalid,
    SignInLinkUsed,
    TelegramLoginForged,
    TelegramLoginIncomplete,
    TelegramLoginStale,
    TelegramLoginUnavailable,
    TelegramLoginUsed,
    TooManyAttempts,
)
from accounts.identities import channel_identity_block, channel_identity_resolve
from accounts.models import AccountLink, User
from accounts.signin_links import signin_link_issue
from accounts.tests.factories import MeterFactory, UserFactory
from accounts.tests.telegram import signed_telegram_login

pytestmark = pytest.mark.django_db

BOT_TOKEN = "123456:TEST-token_for-the-widget"
PASSWORD = "соняшник-на-балконі-42"


def uk(error) -> str:
    with translation.override("uk"):
        return error.message


def page(response) -> str:
    return response.content.decode()


def signed_in_user(client) -> User | None:
    return client.session.get("_auth_user_id") and User.objects.get(pk=client.session["_auth_user_id"])


@pytest.fixture
def telegram_login(settings):
    settings.TELEGRAM_BOT_TOKEN = BOT_TOKEN
    settings.TELEGRAM_BOT_USERNAME = "PokaznykTestBot"


# --- Sign-up, sign-in, sign-out, password reset -------------------------------------------------


def test_signing_up_signs_the_resident_in_and_asks_for_an_account(client):
    response = client.post(
        "/signup/", {"email": "Maria.Ivanenko@Example.com", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/link/"
    user = signed_in_user(client)
    assert (user.username, user.email) == ("maria.ivanenko@example.com", "maria.ivanenko@example.com")
    assert "Вітаємо! Тепер додайте свій особовий рахунок." in page(client.get("/link/"))


def test_an_email_signs_up_once(client):
    UserFactory(username="maria@example.com", email="maria@example.com")
    response = client.post("/signup/", {"email": "MARIA@example.com", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 200
    assert "Обліковий запис з адресою maria@example.com уже є" in page(response)
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("password1", "password2", "expected"),
    [
        (PASSWORD, PASSWORD + "x", "Паролі не збігаються"),
        ("12345678", "12345678", "Цей пароль"),  # Django's validators, in Ukrainian
        ("", "", "Це поле обов"),
    ],
)
def test_a_bad_password_is_refused_with_a_reason(client, password1, password2, expected):
    response = client.post("/signup/", {"email": "new@example.com", "password1": password1, "password2": password2})
    assert response.status_code == 200
    assert expected in page(response)
    assert not User.objects.exists()


def test_signing_in_with_the_email_in_any_case_and_out_again(client):
    user = User.objects.create_user(username="maria@example.com", email="maria@example.com", password=PASSWORD)
    response = client.post("/signin/", {"username": " Maria@Example.COM ", "password": PASSWORD})
    assert response.status_code == 302
    assert signed_in_user(client) == user
    assert client.post("/signout/").status_code == 302
    assert signed_in_user(client) is None


def test_a_wrong_password_is_refused(client):
    User.objects.create_user(username="maria@example.com", email="maria@example.com", password=PASSWORD)
    response = client.post("/signin/", {"username": "maria@example.com", "password": "wrong"})
    assert response.status_code == 200
    assert "Будь ласка, введіть правильні" in page(response)
    assert signed_in_user(client) is None


def test_a_forgotten_password_is_reset_by_email(client):
    user = User.objects.create_user(username="maria@example.com", email="maria@example.com", password="old-" + PASSWORD)
    assert client.post("/password/reset/", {"email": "maria@example.com"}).status_code == 302
    (letter,) = mail.outbox
    assert letter.subject == "Показник: новий пароль"
    link = re.search(r"http://testserver(/password/reset/\S+/)", letter.body).group(1)
    form = client.get(link, follow=True)
    assert "Новий пароль" in page(form)
    response = client.post(form.redirect_chain[-1][0], {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert response.status_code == 302
    assert signed_in_user(client) == user  # the emailed link proved them: they are in at once
    client.post("/signout/")
    assert client.post("/signin/", {"username": "maria@example.com", "password": PASSWORD}).status_code == 302


# --- Telegram Login Widget ----------------------------------------------------------------------


def test_the_telegram_widget_is_on_the_sign_in_page_only_when_a_bot_is_configured(client, settings):
    assert "telegram.org" not in page(client.get("/signin/"))
    settings.TELEGRAM_BOT_TOKEN = BOT_TOKEN
    settings.TELEGRAM_BOT_USERNAME = "PokaznykTestBot"
    html = page(client.get("/signin/"))
    assert '<script async src="https://telegram.org/js/telegram-widget.js' in html
    assert 'data-telegram-login="PokaznykTestBot"' in html
    assert "http://testserver/signin/telegram/" in html


def test_telegram_sign_in_reaches_the_user_the_bot_knows(client, telegram_login):
    bot_user = channel_identity_resolve(channel="telegram", external_id="111", display_name="Марія", language_code="uk")
    meter = MeterFactory()
    AccountLink.objects.create(user=bot_user, account=meter.account)
    response = client.get("/signin/telegram/", signed_telegram_login(bot_token=BOT_TOKEN, telegram_id=111))
    assert response.status_code == 302
    assert signed_in_user(client) == bot_user
    assert meter.account.number in page(client.get("/"))
    assert (
        bot_user.channel_identities.get(channel="telegram").language_code == "uk"
    )  # the widget sends no language: the bot's stays


def test_a_web_sign_in_does_not_mean_the_user_unblocked_the_bot(client, telegram_login):
    user = channel_identity_resolve(channel="telegram", external_id="111", display_name="Марія")
    channel_identity_block(channel="telegram", external_id="111", blocked=True)
    client.get("/signin/telegram/", signed_telegram_login(bot_token=BOT_TOKEN, telegram_id=111))
    assert signed_in_user(client) == user
    assert user.channel_identities.get(channel="telegram").blocked_at is not None


def test_a_new_telegram_user_gets_a_portal_user_once(client, telegram_login):
    client.get("/signin/telegram/", signed_telegram_login(bot_token=BOT_TOKEN, telegram_id=222))
    first = signed_in_user(client)
    client.post("/signout/")
    # A later sign-in is a new answer from Telegram (each one signs in once).
    later = signed_telegram_login(bot_token=BOT_TOKEN, telegram_id=222, auth_date=int(time.time()) + 1)
    client.get("/signin/telegram/", later)
    assert signed_in_user(client) == first
    assert first.channel_identities.get(channel="telegram").external_id == "222"


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (lambda: {**signed_telegram_login(bot_token=BOT_TOKEN), "hash": "0" * 64}, TelegramLoginForged()),
        (lambda: signed_telegram_login(bot_token="999:another-bot"), TelegramLoginForged()),
        (lambda: {**signed_telegram_login(bot_token=BOT_TOKEN), "id": "112"}, TelegramLoginForged()),
        (
            lambda: signed_telegram_login(bot_token=BOT_TOKEN, auth_date=int(time.time()) - 2 * 86400),
            TelegramLoginStale(),
        ),
        (lambda: {}, TelegramLoginIncomplete()),
        (lambda: signed_telegram_login(bot_token=BOT_TOKEN, id=None), TelegramLoginIncomplete()),
        (lambda: {**signed_telegram_login(bot_token=BOT_TOKEN), "auth_date": "yesterday"}, TelegramLoginIncomplete()),
        (lambda: {**signed_telegram_login(bot_token=BOT_TOKEN), "hash": "not hex"}, TelegramLoginIncomplete()),
    ],
    ids=["wrong hash", "another bot", "tampered id", "stale", "empty", "no id", "garbled date", "garbled hash"],
)
def test_a_bad_telegram_answer_is_refused_without_a_500(client, telegram_login, payload, error):
    response = client.get("/signin/telegram/", payload())
    assert response.status_code == 400
    assert uk(error) in page(response)
    assert signed_in_user(client) is None
    assert not User.objects.exists()


def test_telegram_sign_in_is_refused_when_no_bot_is_configured(client):
    response = client.get("/signin/telegram/", signed_telegram_login(bot_token=BOT_TOKEN))
    assert response.status_code == 400
    assert uk(TelegramLoginUnavailable()) in page(response)


# --- The bot's one-time link --------------------------------------------------------------------


def test_the_bots_link_signs_in_once_and_only_when_the_button_is_pressed(client):
    user = channel_identity_resolve(channel="telegram", external_id="333", display_name="Олег")
    path = signin_link_issue(user=user).removeprefix("http://127.0.0.1:8000")
    # Opening the link (or Telegram's preview fetching it) only shows the button.
    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200
    assert signed_in_user(client) is None
    assert client.post(path)["Location"] == "/"
    assert signed_in_user(client) == user
    client.post("/signout/")
    response = client.post(path)
    assert response.status_code == 400
    assert uk(SignInLinkUsed()) in page(response)
    assert signed_in_user(client) is None


def test_a_garbled_link_is_refused(client):
    response = client.post("/signin/link/not-a-token/")
    assert response.status_code == 400
    assert uk(SignInLinkInvalid()) in page(response)


# --- Linking ----------------------------------------------------------------------------------


@pytest.fixture
def resident(client):
    user = UserFactory()
    client.force_login(user)
    return user


def test_linking_an_account_opens_its_page(client, resident):
    meter = MeterFactory(serial="AB123456")
    response = client.post("/link/", {"account_number": meter.account.number, "meter_serial": "ab 123456"})
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/{meter.account.number}/"
    assert AccountLink.objects.filter(user=resident, account=meter.account).exists()
    assert f"Особовий рахунок {meter.account.number} додано." in page(client.get(response["Location"]))


def test_linking_speaks_the_bots_words_and_is_throttled(client, resident, settings):
    settings.LINK_ATTEMPTS_MAX = 2
    meter = MeterFactory()
    response = client.post("/link/", {"account_number": "999999999", "meter_serial": meter.serial})
    assert response.status_code == 400
    assert uk(AccountMeterMismatch(number="999999999", serial=meter.serial, attempts_left=1)) in page(response)
    response = client.post("/link/", {"account_number": meter.account.number, "meter_serial": "X1"})
    last = AccountMeterMismatch(number=meter.account.number, serial="X1", attempts_left=0, minutes=60)
    assert uk(last) in page(response)
    response = client.post("/link/", {"account_number": meter.account.number, "meter_serial": meter.serial})
    assert response.status_code == 429
    assert uk(TooManyAttempts(minutes=60, retry_after=3600)) in page(response)
    assert response["Retry-After"] == "3600"
    assert not AccountLink.objects.exists()


def test_an_account_already_in_the_list_is_refused_with_the_apis_status(client, resident):
    meter = MeterFactory(serial="AB123456")
    AccountLink.objects.create(user=resident, account=meter.account)
    form = {"account_number": meter.account.number, "meter_serial": meter.serial}
    response = client.post("/link/", form)
    api_answer = client.post("/api/v1/accounts/", form, content_type="application/json")
    assert response.status_code == api_answer.status_code == 409
    assert uk(AlreadyLinked(number=meter.account.number)) in page(response)
    assert AccountLink.objects.count() == 1


def test_link_form_fields_have_labels_and_errors_name_the_field(client, resident):
    html = page(client.get("/link/"))
    assert '<label for="id_account_number">Номер особового рахунку</label>' in html
    assert '<label for="id_meter_serial">Заводський номер лічильника</label>' in html
    response = client.post("/link/", {"account_number": "", "meter_serial": ""})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in page(response)


# --- Settings ---------------------------------------------------------------------------------


def linked(user):
    meter = MeterFactory()
    return AccountLink.objects.create(user=user, account=meter.account)


def test_reminders_are_turned_off_and_on_per_account(client, resident):
    link = linked(resident)
    number = link.account.number
    client.post(f"/accounts/{number}/reminders/", {"enabled": "0"})
    link.refresh_from_db()
    assert link.reminders_enabled is False
    assert "нагадування вимкнено" in page(client.get("/settings/"))
    client.post(f"/accounts/{number}/reminders/", {"enabled": "1"})
    link.refresh_from_db()
    assert link.reminders_enabled is True


def test_someone_elses_reminders_cannot_be_touched(client, resident):
    theirs = linked(UserFactory())
    response = client.post(f"/accounts/{theirs.account.number}/reminders/", {"enabled": "0"}, follow=True)
    assert uk(NotLinked(number=theirs.account.number)) in page(response)
    theirs.refresh_from_db()
    assert theirs.reminders_enabled is True


def test_unlinking_asks_first_then_removes_the_account_from_the_list(client, resident):
    link = linked(resident)
    number = link.account.number
    assert "Так, видалити" in page(client.get(f"/accounts/{number}/unlink/"))
    assert AccountLink.objects.exists()
    assert client.post(f"/accounts/{number}/unlink/")["Location"] == "/"
    assert not AccountLink.objects.exists()
    assert client.get(f"/accounts/{number}/").status_code == 404


def test_the_cabinet_is_ukrainian_until_english_is_chosen(client, resident):
    html = page(client.get("/settings/", HTTP_ACCEPT_LANGUAGE="en"))
    assert '<html lang="uk">' in html
    assert "Налаштування" in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/settings/"})
    html = page(client.get("/settings/"))
    assert '<html lang="en">' in html
    assert "<h1>Settings</h1>" in html


# --- Replay of a widget answer, sign-up limit ---------------------------------------------------


def test_a_telegram_widget_answer_signs_in_once(client, telegram_login):
    answer = signed_telegram_login(bot_token=BOT_TOKEN, telegram_id=333)
    assert client.get("/signin/telegram/", answer).status_code == 302
    client.post("/signout/")

    replay = client.get("/signin/telegram/", answer)  # the same URL, from a log or the history

    assert replay.status_code == 400
    assert uk(TelegramLoginUsed()) in page(replay)
    assert signed_in_user(client) is None


def test_sign_up_is_limited_per_address(client, settings):
    settings.SIGNUP_RATE = "2/hour"
    cache.clear()

    def sign_up(email: str):
        client.post("/signout/")
        return client.post("/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD})

    codes = [sign_up(f"new{n}@example.com").status_code for n in range(2)]
    refused = sign_up("new9@example.com")

    assert codes == [302, 302]
    assert refused.status_code == 429
    assert "Забагато реєстрацій з вашої мережі" in page(refused)
    assert int(refused["Retry-After"]) > 0
    assert not User.objects.filter(email="new9@example.com").exists()


def test_sign_up_goes_on_when_the_cache_fails(client, settings, monkeypatch):
    settings.SIGNUP_RATE = "1/hour"

    def broken(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get", broken)
    answer = client.post("/signup/", {"email": "new@example.com", "password1": PASSWORD, "password2": PASSWORD})
    assert answer.status_code == 302
    assert User.objects.filter(email="new@example.com").exists()
