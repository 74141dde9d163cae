"""The engine's answers as Messenger messages, each one what Messenger accepts."""

import pytest
from django.utils import translation

from botbridge.channels.messenger.render import messages, title
from botbridge.channels.parts import split
from botbridge.conversation import Choices, Notice, Option, Reply, menus
from botbridge.tests.fake_graph import message_check


def accepted(rendered: list[dict]) -> list[dict]:
    for message in rendered:
        message_check(message, templates=set())  # raises what Messenger would answer
    return rendered


def test_a_long_text_goes_in_parts_between_lines_with_the_options_on_the_last():
    text = "\n".join(f"{day:02}.11.2026 · 1111/2222 · прийнято · Messenger" for day in range(1, 31)) * 3
    [*parts, last] = accepted(messages([Reply(text, menus.cancel_only())]))
    assert all("quick_replies" not in part for part in parts) and len(parts) >= 1
    assert [reply["title"] for reply in last["quick_replies"]] == ["Скасувати"]
    assert "\n".join(part["text"] for part in [*parts, last]) == text


def test_a_line_longer_than_a_message_is_split_between_words_and_nothing_is_lost():
    text = "слово " * 700 + "9" * 4500
    parts = split(text, 2000)
    assert all(0 < len(part) <= 2000 for part in parts)
    assert "".join(parts).replace(" ", "") == text.replace(" ", "")


def test_more_choices_than_quick_replies_hold_go_as_button_templates_of_three():
    numbers = [f"{n:09}" for n in range(1, 16)]
    rendered = accepted(messages([Reply("Оберіть особовий рахунок:", menus.accounts(numbers))]))
    assert len(rendered) == 6  # 16 options, three a message
    assert rendered[0]["attachment"]["payload"]["text"] == "Оберіть особовий рахунок:"
    buttons = [button for message in rendered for button in message["attachment"]["payload"]["buttons"]]
    assert [button["title"] for button in buttons] == [*numbers, "« Назад"]
    assert buttons[0]["payload"] == "C:open:000000001"


def test_options_that_only_change_come_with_the_notice_before_them():
    choices = Choices(rows=((Option("Нагадування: вимкнено", "reminders", "123456789"),),))
    [message] = accepted(messages([Notice("Нагадування вимкнено."), Reply(None, choices, replaces=True)]))
    assert message["text"] == "Нагадування вимкнено."
    assert message["quick_replies"] == [
        {"content_type": "text", "title": "Нагадування: ні", "payload": "C:reminders:123456789"}
    ]
    with translation.override("uk"):
        [alone] = accepted(messages([Notice(), Reply(None, choices, replaces=True)]))
    assert alone["text"] == "Оберіть дію:"
    assert messages([Notice(), Reply(None, replaces=True)]) == []


def test_the_standing_cancel_goes_with_a_question_and_the_main_menu_stays_in_the_persistent_menu():
    [question] = messages([Reply("Надішліть показання", standing=menus.cancel_only())])
    assert [reply["title"] for reply in question["quick_replies"]] == ["Скасувати"]
    [at_rest] = messages([Reply("Готово", standing=menus.main_menu())])
    assert "quick_replies" not in at_rest


def test_the_main_menu_as_quick_replies_carries_the_full_labels():
    with translation.override("en"):
        [message] = accepted(messages([Reply("Hello", menus.main_menu())]))
    assert [(reply["title"], reply["payload"]) for reply in message["quick_replies"]] == [
        ("Add account", "L:Add personal account"),
        ("My accounts", "L:My personal accounts"),
        ("Help", "L:Help"),
        ("Web cabinet", "L:Sign in to the cabinet"),
    ]


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Передати показання: AB123", "Лічильник AB123"),
        ("Send reading: AB123", "Meter AB123"),
        ("Передати показання: ABCDEFGHIJKLMN123", "… ABCDEFGHIJKLMN123"),
        ("Передати показання: " + "Z" * 32, "…" + "Z" * 19),
        ("Нагадування: увімкнено", "Нагадування: так"),
        ("« Назад", "« Назад"),
        ("123456789012", "123456789012"),
    ],
)
def test_button_titles_fit_in_20_characters_and_are_never_cut_mid_word_unsaid(label, expected):
    assert title(label) == expected and len(expected) <= 20
