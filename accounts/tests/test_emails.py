"""A resident's email address: the link that confirms it (sent at sign-up, again on request, a
minute apart), adding or changing it in Settings, and what the cabinet then says about reminders."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.core.signing import TimestampSigner
from django.utils import translation

from accounts.emails import CONFIRM_SALT
from accounts.errors import (
    EmailConfirmExpired,
    EmailConfirmInvalid,
    EmailConfirmStale,
    EmailInUse,
    EmailPasswordWrong,
)
from accounts.identities import channel_identity_block, channel_identity_resolve
from accounts.models import AccountLink, ChannelIdentity, User
from accounts.signin_links import SIGNIN_LINK_SALT
from accounts.tests.factories import MeterFactory
from conftest import kyiv

pytestmark = pytest.mark.django_db

PASSWORD = "соняшник-на-балконі-42"
PORTAL = "http://127.0.0.1:8000"
NOW = kyiv(2026, 11, 20, 12)


def uk(error) -> str:
    with translation.override("uk"):
        return error.message


def page(response) -> str:
    return response.content.decode()


def text(response) -> str:
    """The page as a resident reads it: inline tags out, others a space, spaces collapsed."""
    inline = re.sub(r"</?(strong|em|a|span)\b[^>]*>", "", page(response))
    return " ".join(re.sub(r"<[^>]+>", " ", inline).split())


def sign_up(client, email: str = "maria@example.com", **headers):
    return client.post("/signup/", {"email": email, "password1": PASSWORD, "password2": PASSWORD}, **headers)


def link_in(letter) -> str:
    """The confirmation link of an email, as a path on the test client's server."""
    (url,) = re.findall(r"https?://\S+/email/confirm/\S+/", letter.body)
    assert url.startswith(PORTAL)
    return url.removeprefix(PORTAL)


@pytest.fixture(autouse=True)
def clock(settings):
    settings.SIGNUP_RATE = "1000/hour"  # the limit has its own tests; these sign up many times an hour
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# --- Sign-up sends the link; the link confirms ----------------------------------------------------


def test_signing_up_sends_the_link_and_says_so_on_the_first_page(client):
    response = sign_up(client, "Maria@Example.com")
    assert response["Location"] == "/link/"
    (letter,) = mail.outbox
    assert letter.to == ["maria@example.com"]
    assert letter.subject == "Показник: підтвердіть адресу електронної пошти"
    assert "Відкрийте це посилання, щоб підтвердити maria@example.com" in letter.body
    assert "Посилання діє 3 дн." in letter.body
    first_page = text(client.get("/link/"))
    assert "Вітаємо! Тепер додайте свій особовий рахунок." in first_page
    assert (
        "Ми надіслали посилання на maria@example.com. Відкрийте його, щоб підтвердити адресу: нагадування "
        "про прийом показань надходять електронною поштою лише на підтверджену адресу."
    ) in first_page
    assert User.objects.get().email_verified_at is None


def test_the_link_confirms_the_address_signed_out_and_again_changes_nothing(client):
    sign_up(client)
    client.post("/signout/")
    response = client.get(link_in(mail.outbox[0]))
    assert response.status_code == 200
    assert "maria@example.com підтверджено." in text(response)
    assert "нагадування про прийом показань для ваших рахунків" in text(response)
    confirmed_at = User.objects.get().email_verified_at
    assert confirmed_at == NOW

    again = client.get(link_in(mail.outbox[0]))
    assert again.status_code == 200
    assert User.objects.get().email_verified_at == confirmed_at


def test_a_link_past_its_days_is_refused_with_what_to_do(client, clock):
    sign_up(client)
    clock.shift(dt.timedelta(days=3, minutes=1))
    response = client.get(link_in(mail.outbox[0]))
    assert response.status_code == 400
    assert uk(EmailConfirmExpired(days=3)) in text(response)
    assert "Термін дії цього посилання минув: посилання діє 3 дн." in text(response)
    assert User.objects.get().email_verified_at is None


def test_an_old_link_of_a_confirmed_address_still_says_it_is_confirmed(client, clock):
    sign_up(client)
    client.get(link_in(mail.outbox[0]))
    clock.shift(dt.timedelta(days=10))
    response = client.get(link_in(mail.outbox[0]))
    assert response.status_code == 200
    assert "maria@example.com підтверджено." in text(response)


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # the signature changed
        lambda token: token[:20],  # cut short by a mail client
        lambda _token: TimestampSigner(salt=SIGNIN_LINK_SALT).sign_object({"user": 1, "email": "maria@example.com"}),
        lambda _token: TimestampSigner(salt=CONFIRM_SALT, key="not-our-secret-key-at-all-0123456789").sign_object(
            {"user": 1, "email": "maria@example.com"}
        ),
        lambda _token: "x" * 1000,
    ],
    ids=["signature", "cut", "another-salt", "another-key", "too-long"],
)
def test_a_forged_link_confirms_nothing(client, forge):
    sign_up(client)
    token = link_in(mail.outbox[0]).rstrip("/").rsplit("/", 1)[1]
    response = client.get(f"/email/confirm/{forge(token)}/")
    assert response.status_code == 400
    assert uk(EmailConfirmInvalid()) in text(response)
    assert User.objects.get().email_verified_at is None


def test_a_link_for_a_changed_address_is_refused_without_telling_the_new_one(client):
    sign_up(client)
    old_link = link_in(mail.outbox[0])
    client.post("/settings/email/", {"email": "maria.new@example.com", "password": PASSWORD}, follow=True)
    client.post("/signout/")
    response = client.get(old_link)  # the old mailbox's reader, who may be someone else by now
    assert response.status_code == 400
    assert uk(EmailConfirmStale()) in text(response)
    assert "maria.new" not in page(response)
    user = User.objects.get()
    assert (user.email, user.email_verified_at) == ("maria.new@example.com", None)
    assert client.get(link_in(mail.outbox[-1])).status_code == 200
    assert User.objects.get().email_verified_at is not None


# --- Asking again, a minute apart -----------------------------------------------------------------


def test_the_link_is_sent_again_a_minute_apart_and_the_page_says_when(client, clock):
    sign_up(client)
    response = client.post("/settings/email/confirm/", {"next": "settings"}, follow=True)
    assert len(mail.outbox) == 1
    assert (
        "Ми надіслали посилання на maria@example.com менше ніж хвилину тому. Перевірте вхідні листи й папку "
        "«Спам»; нове посилання можна попросити через 60 с."
    ) in text(response)
    clock.shift(dt.timedelta(seconds=45))
    response = client.post("/settings/email/confirm/", {"next": "dashboard"}, follow=True)
    assert "нове посилання можна попросити через 15 с." in text(response)
    assert response.redirect_chain[-1][0] == "/"
    clock.shift(dt.timedelta(seconds=15))
    response = client.post("/settings/email/confirm/", {"next": "settings"}, follow=True)
    assert len(mail.outbox) == 2
    assert "Ми надіслали посилання на maria@example.com. Відкрийте його" in text(response)
    # The time of the last link is the database's: another process (another web worker) sees it.
    assert User.objects.get().email_confirmation_sent_at == NOW + dt.timedelta(seconds=60)


def test_a_link_that_could_not_be_sent_does_not_count(client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nothing listens
    settings.EMAIL_USE_TLS = False
    response = sign_up(client)
    assert response.status_code == 302  # the account is made all the same
    told = text(client.get("/link/"))
    assert "Зараз не вдалося надіслати лист на maria@example.com." in told
    assert User.objects.get().email_confirmation_sent_at is None  # may press again at once
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client.post("/settings/email/confirm/")
    assert len(mail.outbox) == 1


# --- Adding or changing the address ----------------------------------------------------------------


def bot_resident(client, telegram_id: str = "501") -> User:
    user = channel_identity_resolve(channel="telegram", external_id=telegram_id, display_name="Олег")
    AccountLink.objects.create(user=user, account=MeterFactory().account)
    client.force_login(user)
    return user


def test_a_resident_from_the_bot_adds_an_address_without_a_password(client):
    user = bot_resident(client)
    settings_page = text(client.get("/settings/"))
    assert "Додати адресу електронної пошти" in settings_page
    assert "Поточний пароль" not in settings_page
    response = client.post("/settings/email/", {"email": " Oleg@Example.COM "})
    assert response["Location"] == "/settings/#reminders"
    user.refresh_from_db()
    assert (user.username, user.email, user.email_verified_at) == ("tg501", "oleg@example.com", None)
    (letter,) = mail.outbox
    assert letter.to == ["oleg@example.com"]


def test_the_login_address_changes_only_with_the_password(client):
    sign_up(client)
    response = client.post("/settings/email/", {"email": "maria.new@example.com", "password": "wrong"})
    assert response.status_code == 400
    assert uk(EmailPasswordWrong()) in text(response)
    assert User.objects.get().email == "maria@example.com"
    client.post("/settings/email/", {"email": "maria.new@example.com", "password": PASSWORD})
    user = User.objects.get()
    assert (user.username, user.email) == ("maria.new@example.com", "maria.new@example.com")
    client.post("/signout/")
    assert client.post("/signin/", {"username": "maria.new@example.com", "password": PASSWORD}).status_code == 302


def test_an_address_of_another_account_is_refused(client):
    User.objects.create_user(username="taken@example.com", email="taken@example.com", password=PASSWORD)
    bot_resident(client)
    response = client.post("/settings/email/", {"email": "TAKEN@example.com"})
    assert response.status_code == 400
    assert uk(EmailInUse(email="taken@example.com")) in text(response)


def test_not_an_address_is_refused_with_what_to_type(client):
    bot_resident(client)
    response = client.post("/settings/email/", {"email": "oleg at example"})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in page(response)
    assert User.objects.get().email == ""


def test_an_english_cabinet_gets_its_links_in_english(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    sign_up(client)
    (letter,) = mail.outbox
    assert letter.subject == "Pokaznyk: confirm your email address"
    assert User.objects.get().language == "en"
    client.post("/i18n/setlang/", {"language": "uk", "next": "/"})
    assert User.objects.get().language == "uk"  # the switch, signed in, is remembered for the emails


# --- The truth about reminders: Settings and the dashboard ------------------------------------------


def web_resident(client, *, confirmed: bool) -> User:
    sign_up(client)
    user = User.objects.get(email="maria@example.com")
    AccountLink.objects.create(user=user, account=MeterFactory().account)
    if confirmed:
        client.get(link_in(mail.outbox[0]))
    return user


def test_a_web_only_resident_is_told_reminders_need_the_confirmed_address(client):
    web_resident(client, confirmed=False)
    dashboard = text(client.get("/"))
    assert "Нагадування до вас поки не надходитимуть" in dashboard
    assert "Підтвердьте свою адресу maria@example.com: відкрийте посилання, яке ми туди надіслали." in dashboard
    assert "Надіслати посилання ще раз" in dashboard
    settings_page = text(client.get("/settings/"))
    assert "нагадування увімкнено" not in settings_page
    assert "увімкнено, але поки жоден канал до вас не доходить" in settings_page
    assert "Електронна пошта: maria@example.com — не підтверджено: підтвердьте, щоб отримувати нагадування" in (
        settings_page
    )


def test_a_confirmed_address_is_where_the_dashboard_says_reminders_go(client):
    web_resident(client, confirmed=True)
    dashboard = text(client.get("/"))
    assert "Нагадування про прийом показань надходять: Електронна пошта (maria@example.com)." in dashboard
    assert "Нагадування до вас поки не надходитимуть" not in dashboard
    settings_page = text(client.get("/settings/"))
    assert "Електронна пошта: maria@example.com — нагадування увімкнено" in settings_page


def test_settings_offer_only_the_channels_the_resident_has(client, settings):
    settings.TELEGRAM_BOT_TOKEN = "123:telegram"
    settings.VIBER_AUTH_TOKEN = ""  # the Viber bot is off: its identity reaches no one
    user = bot_resident(client)
    channel_identity_resolve(channel="viber", external_id="vb-1", display_name="Олег")
    ChannelIdentity.objects.filter(channel="viber").update(user=user)
    settings_page = text(client.get("/settings/"))
    assert "Telegram: Олег — нагадування увімкнено" in settings_page
    assert "Viber" not in settings_page
    assert "Messenger" not in settings_page
    assert "Електронна пошта:" not in settings_page  # no address yet: only the form to add one
    assert "Нагадування про прийом показань надходять: Telegram (Олег)." in settings_page

    channel_identity_block(channel="telegram", external_id="501", blocked=True)
    settings_page = text(client.get("/settings/"))
    assert "Telegram:" not in settings_page
    assert "Нагадування до вас поки не надходитимуть" in settings_page
    assert "Додайте адресу електронної пошти в налаштуваннях і підтвердьте її або додайте свій рахунок у нашому " in (
        settings_page
    )


def test_a_channel_turned_off_is_not_said_to_be_on(client, settings):
    settings.TELEGRAM_BOT_TOKEN = "123:telegram"
    user = bot_resident(client)
    response = client.post("/settings/reminders/telegram/", {"enabled": "0"}, follow=True)
    assert "Нагадування (Telegram): вимкнено." in text(response)
    assert ChannelIdentity.objects.get(user=user).reminders_enabled is False
    dashboard = text(client.get("/"))
    assert "Ви вимкнули нагадування в усіх своїх каналах." in dashboard
    response = client.post("/settings/reminders/viber/", {"enabled": "1"}, follow=True)
    assert "Цей канал не під’єднано до вашого облікового запису" in text(response)
    client.post("/settings/reminders/telegram/", {"enabled": "1"})
    assert "Нагадування про прийом показань надходять: Telegram (Олег)." in text(client.get("/"))


def test_email_reminders_are_switched_off_and_on(client):
    user = web_resident(client, confirmed=True)
    client.post("/settings/reminders/email/", {"enabled": "0"})
    user.refresh_from_db()
    assert user.email_reminders_enabled is False
    assert "Ви вимкнули нагадування в усіх своїх каналах." in text(client.get("/"))
    client.post("/settings/reminders/email/", {"enabled": "1"})
    user.refresh_from_db()
    assert user.email_reminders_enabled is True


def test_with_email_off_nothing_is_sent_or_offered(client, settings):
    settings.EMAIL_CHANNEL = ""
    sign_up(client)
    assert mail.outbox == []
    settings_page = text(client.get("/settings/"))
    assert "адресу електронної пошти" not in settings_page.lower()
    assert "Кабінет поки не може надсилати нагадування" in settings_page


def test_staff_changing_an_address_in_admin_leaves_it_to_be_confirmed(client, admin_client):
    web_resident(client, confirmed=True)
    user = User.objects.get(email="maria@example.com")
    form = {
        "username": user.username,
        "email": "maria.fixed@example.com",
        "first_name": "",
        "last_name": "",
        "is_active": "on",
        "date_joined_0": "20.11.2026",
        "date_joined_1": "12:00:00",
        "email_reminders_enabled": "on",
        "language": "",
    }
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert (user.email, user.email_verified_at) == ("maria.fixed@example.com", None)
