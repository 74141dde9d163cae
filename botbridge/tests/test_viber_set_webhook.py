"""python manage.py viber_set_webhook URL, with the portal really serving the webhook (Django's
live server in a thread) and the fake Viber calling it during set_webhook, as Viber does."""

import pytest
from django.core.management import CommandError, call_command

from botbridge.channels.viber.intake import KNOWN
from botbridge.tests.fake_viber import FakeViber


@pytest.fixture
def viber_live(settings, live_server):
    with FakeViber(local_http_webhooks=True) as fake:
        settings.VIBER_AUTH_TOKEN = fake.token
        settings.VIBER_API_BASE = fake.base_url
        # The fake lets plain http through for 127.0.0.1 only (real Viber: https with a trusted certificate).
        yield fake, f"{live_server.url.replace('localhost', '127.0.0.1')}/viber/webhook/"


def test_the_webhook_is_set_once_the_portal_answers_vibers_check(viber_live, capsys):
    fake, url = viber_live
    call_command("viber_set_webhook", url)
    [call] = fake.calls_to("set_webhook")
    # The fake called the portal with a signed `webhook` event and got its 200 before answering.
    assert call.status == 0 and fake.webhook == url
    assert call.params["send_name"] is True
    assert set(call.params["event_types"]) <= set(KNOWN) and "conversation_started" in call.params["event_types"]
    assert f"Webhook set: {url}" in capsys.readouterr().out


def test_a_url_that_does_not_answer_the_check_is_refused(viber_live):
    fake, url = viber_live
    with pytest.raises(CommandError, match="status 1 invalidUrl"):
        call_command("viber_set_webhook", url.replace("/viber/webhook/", "/viber/no-such-hook/"))
    assert fake.webhook == ""


def test_viber_takes_https_urls_only(settings, fake_viber, viber_settings):
    with pytest.raises(CommandError, match="invalidUrl"):
        call_command("viber_set_webhook", "http://portal.example/viber/webhook/")
    assert fake_viber.calls_to("set_webhook")[0].response["status"] == 1


def test_the_command_needs_the_token(settings):
    settings.VIBER_AUTH_TOKEN = ""
    with pytest.raises(CommandError, match="VIBER_AUTH_TOKEN is not set"):
        call_command("viber_set_webhook", "https://portal.example/viber/webhook/")
