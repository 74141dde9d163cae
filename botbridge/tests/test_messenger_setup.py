"""python manage.py messenger_setup against the fake Graph API."""

import io

import pytest
from django.core.management import CommandError, call_command


def setup() -> str:
    out = io.StringIO()
    call_command("messenger_setup", stdout=out)
    return out.getvalue()


def test_sets_get_started_the_greetings_and_the_persistent_menu(messenger_settings, fake_graph):
    printed = setup()
    profile = fake_graph.profile
    assert profile["get_started"] == {"payload": "start"}
    greetings = {item["locale"]: item["text"] for item in profile["greeting"]}
    assert "показання електролічильника" in greetings["default"] and "meter readings" in greetings["en_US"]
    menus = {menu["locale"]: menu["call_to_actions"] for menu in profile["persistent_menu"]}
    assert [(item["title"], item["payload"]) for item in menus["default"]] == [
        ("Додати особовий рахунок", "add"),
        ("Мої особові рахунки", "accounts"),
        ("Допомога", "help"),
        ("Увійти в кабінет", "login"),
    ]
    assert [item["title"] for item in menus["en_US"]] == [
        "Add personal account",
        "My personal accounts",
        "Help",
        "Sign in to the cabinet",
    ]
    assert "Persistent menu (default): Додати особовий рахунок | Мої особові рахунки" in printed
    assert fake_graph.refused() == []


def test_a_refusal_is_a_clear_error(messenger_settings, fake_graph):
    messenger_settings.MESSENGER_PAGE_ACCESS_TOKEN = "EAAanotherPagesToken000000000"
    with pytest.raises(CommandError, match=r"Messenger refused the profile: .*code 190"):
        setup()
    assert fake_graph.profile == {}


def test_without_a_page_token_it_says_so(settings):
    settings.MESSENGER_PAGE_ACCESS_TOKEN = ""
    with pytest.raises(CommandError, match="MESSENGER_PAGE_ACCESS_TOKEN is not set"):
        setup()
