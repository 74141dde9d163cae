"""The conversation's branches: refusals with a way back, confirmations, the account's menu."""

import pytest
import time_machine

from accounts.models import AccountLink, Meter
from accounts.tests.factories import MeterFactory, PersonalAccountFactory
from botbridge.tests.chat import texts
from readings.models import Reading

IN_WINDOW = "2026-11-28 10:00 +02:00"
BEFORE_WINDOW = "2026-11-24 10:00 +02:00"


@pytest.fixture
def home(db) -> Meter:
    return MeterFactory(account__number="123456789", account__address="вул. Соборна, 12", serial="AB123", digits=5)


def link(resident, number: str = "123456789", serial: str = "AB123") -> str:
    resident.say("Додати особовий рахунок")
    resident.say(number)
    return texts(resident.say(serial))


def open_account(resident, number: str = "123456789") -> str:
    resident.say("Мої особові рахунки")
    return texts(resident.press(number))


def test_a_wrong_serial_goes_back_to_the_number_and_the_right_pair_links(home, webhook_resident):
    resident = webhook_resident
    resident.say("Додати особовий рахунок")
    resident.say("123456789")
    refused = texts(resident.say("ZZ999"))
    assert "Особовий рахунок 123456789 з лічильником ZZ999 не знайдено" in refused
    assert "Ще 4 спроби" in refused
    assert "Введіть номер рахунку ще раз" in refused
    resident.say("123456789")
    assert "додано" in texts(resident.say("AB123"))


def test_an_unknown_account_and_a_wrong_serial_get_the_same_answer(home, webhook_resident):
    """Which of the two numbers is wrong is not said: that would tell which account numbers exist."""
    resident = webhook_resident

    def refusal(number: str, serial: str) -> str:
        resident.say("Додати особовий рахунок")
        resident.say(number)
        return texts(resident.say(serial)).replace(number, "<number>").replace(serial, "<serial>")

    assert refusal("111111111", "AB124") == refusal("123456789", "AB124").replace("Ще 3", "Ще 4")
    assert "Введіть номер рахунку ще раз" in refusal("111111112", "AB123")


def test_a_badly_typed_number_is_explained_and_asked_again(home, webhook_resident):
    webhook_resident.say("Додати особовий рахунок")
    assert "від 6 до 12 цифр" in texts(webhook_resident.say("12-ab"))
    assert "на самому лічильнику" in texts(webhook_resident.say("123456789"))


def test_already_linked_and_too_many_attempts_end_at_the_main_menu(home, webhook_resident, settings):
    resident = webhook_resident
    link(resident)
    resident.say("Додати особовий рахунок")
    resident.say("123456789")
    [reply] = resident.say("AB123")
    assert "уже є у вашому списку" in reply.params["text"]
    assert "keyboard" in reply.params["reply_markup"]
    settings.LINK_ATTEMPTS_MAX = 2
    for guess in ("200000001", "200000002"):
        link(resident, guess, "X1")
    assert "Забагато невдалих спроб" in link(resident, "200000003", "X1")


def test_cancel_leaves_linking_at_any_step(home, webhook_resident):
    resident = webhook_resident
    resident.say("Додати особовий рахунок")
    resident.say("123456789")
    [reply] = resident.say("Скасувати")
    assert "Скасовано" in reply.params["text"]
    assert "Додати особовий рахунок" in resident.fake.button_texts(reply)
    # "AB123" is now just unknown text, not a serial.
    assert "Не зрозумів" in texts(resident.say("AB123"))
    assert not AccountLink.objects.exists()


def test_outside_the_window_the_reading_is_kept_as_a_control_reading(home, webhook_resident):
    with time_machine.travel(BEFORE_WINDOW, tick=True):
        link(webhook_resident)
        card = open_account(webhook_resident)
        assert "Зараз показання не приймаються. Наступний прийом: 27.11–03.12.2026." in card
        reply = texts(webhook_resident.say("1100"))
    assert "збережено як контрольні" in reply
    assert "Наступний прийом: 27.11–03.12.2026" in reply
    assert Reading.objects.get().status == Reading.Status.CONTROL


def test_a_rollover_asks_yes_or_no(db, webhook_resident):
    MeterFactory(account__number="123456789", serial="AB123", digits=5, initial_values=[99950])
    with time_machine.travel(IN_WINDOW, tick=True):
        link(webhook_resident)
        open_account(webhook_resident)
        question = texts(webhook_resident.say("30"))
        assert "перейшов через 0 після 99999" in question
        assert "Показання правильні?" in question
        assert "Гаразд, нічого не збережено" in texts(webhook_resident.press("Ні"))
        assert not Reading.objects.exists()
        webhook_resident.say("30")
        done = texts(webhook_resident.press("Так"))
    assert "передано фахівцям на перевірку: 30" in done
    reading = Reading.objects.get()
    assert (reading.status, reading.review_reason, reading.consumption) == ("needs_review", "rollover", (80,))


def test_the_answer_may_be_typed_instead_of_pressed(db, webhook_resident):
    MeterFactory(account__number="123456789", serial="AB123", digits=5, initial_values=[99950])
    with time_machine.travel(IN_WINDOW, tick=True):
        link(webhook_resident)
        open_account(webhook_resident)
        webhook_resident.say("30")
        assert "нічого не збережено" in texts(webhook_resident.say("ні"))
        webhook_resident.say("30")
        assert "передано фахівцям на перевірку: 30" in texts(webhook_resident.say(" Так "))


def test_a_refused_reading_says_why_and_waits_for_another(home, webhook_resident):
    with time_machine.travel(IN_WINDOW, tick=True):
        link(webhook_resident)
        open_account(webhook_resident)
        assert "Замість «1100,5» надішліть 1100" in texts(webhook_resident.say("1100,5"))
        assert "Показання прийнято: 1100" in texts(webhook_resident.say("1100"))


def test_an_account_with_two_meters_asks_which_one(db, webhook_resident):
    account = PersonalAccountFactory(number="123456789")
    MeterFactory(account=account, serial="AB123")
    MeterFactory(account=account, serial="GARAGE7", zones=3, initial_values=[1, 2, 3])
    with time_machine.travel(IN_WINDOW, tick=True):
        link(webhook_resident)
        open_account(webhook_resident)
        asked = texts(webhook_resident.press("Передати показання: GARAGE7"))
        assert "пік/напівпік/ніч, наприклад 1111/2222/3333" in asked
        assert "Показання прийнято: 10/20/30" in texts(webhook_resident.say("10/20/30"))
    assert Reading.objects.get().meter.serial == "GARAGE7"


def test_history_reminders_and_removal(home, webhook_resident):
    resident = webhook_resident
    with time_machine.travel(IN_WINDOW, tick=True):
        link(resident)
        open_account(resident)
        resident.say("1100")
        open_account(resident)
        assert "1100 · Прийнято: зараховано на 01.12.2026 · Telegram · Квитанція " in texts(
            resident.press("Останні показання")
        )
        resident.press("« Назад")
        assert "вимкнено" in texts(resident.press("Нагадування: увімкнено"))
        assert not AccountLink.objects.get().reminders_enabled
        assert "Відв’язати рахунок 123456789" in texts(resident.press("Відв’язати рахунок"))
        assert "відв’язано" in texts(resident.press("Так, відв’язати"))
    assert not AccountLink.objects.exists()
    assert Reading.objects.count() == 1  # the company keeps what was sent
    assert "ще немає рахунків" in texts(resident.say("Мої особові рахунки"))


def test_help_names_the_window_formats_and_contacts(db, webhook_resident):
    with time_machine.travel(IN_WINDOW, tick=True):
        help_text = texts(webhook_resident.say("Допомога"))
    assert "Прийом показань триває до 03.12.2026 (залишилося 6 днів)" in help_text
    assert "двозонний 1111/2222 (день/ніч)" in help_text
    assert "T0" in help_text
    assert "(061) 225-36-09" in help_text
