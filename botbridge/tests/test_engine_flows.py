"""The conversation's flows against the engine itself: no HTTP, no aiogram, no Bot API.

The same walks as test_conversation, test_flows, test_updates and test_cabinet, asserted on
the engine's answers (texts, offered options, what replaces what, the step it is at).
test_conversation and the others keep the end-to-end walk through Telegram's JSON.
"""

import pytest
import time_machine

from accounts.models import AccountLink, ChannelIdentity, Meter
from accounts.reminder_channels import reminder_channel_set
from accounts.tests.factories import MeterFactory, PersonalAccountFactory
from botbridge.conversation import (
    CONFIRM,
    NUMBER,
    READING,
    SERIAL,
    Choice,
    Choices,
    Notice,
    NotPrivate,
    Reply,
    Unreadable,
)
from botbridge.models import ConversationState
from botbridge.tests.bad_input import state_of
from botbridge.tests.engine_chat import EngineChat, menu, options, said
from readings.models import Reading

IN_WINDOW = "2026-11-28 10:00 +02:00"
BEFORE_WINDOW = "2026-11-24 10:00 +02:00"
MENU = [["Додати особовий рахунок"], ["Мої особові рахунки", "Допомога"], ["Увійти в кабінет"]]
STALE = "Ця кнопка вже не діє"


@pytest.fixture
def home(db) -> Meter:
    return MeterFactory(account__number="123456789", account__address="вул. Соборна, 123", serial="AB123", digits=5)


@pytest.fixture
def resident(db) -> EngineChat:
    return EngineChat()


def link(resident: EngineChat, number: str = "123456789", serial: str = "AB123") -> str:
    resident.say("Додати особовий рахунок")
    resident.say(number)
    return said(resident.say(serial))


def open_account(resident: EngineChat, number: str = "123456789") -> str:
    resident.say("Мої особові рахунки")
    return said(resident.press(number))


def test_the_seed_conversation(db, resident):
    MeterFactory(account__number="123456789", account__address="вул. Соборна, 123", serial="AB123")
    MeterFactory(
        account__number="987654321",
        account__address="просп. Миру, 45, кв. 6",
        serial="GAMA1",
        zones=2,
        initial_values=[1000, 500],
    )
    with time_machine.travel(IN_WINDOW, tick=True):
        [greeting] = resident.say("/start")
        assert "Вітаю, Марія" in greeting.text
        assert menu(greeting) == MENU and greeting.options.lasting

        [ask] = resident.say("Додати особовий рахунок")
        assert "номер особового рахунку" in ask.text
        assert menu(ask) == [["Скасувати"]] and not ask.options.lasting
        assert "на самому лічильнику" in said(resident.say("123456789"))
        [added] = resident.say("AB123")
        assert "123456789 додано" in added.text and "вул. Соборна, 1**" in added.text
        assert menu(added) == MENU

        link(resident, "987654321", "gama1")
        [listing] = resident.say("Мої особові рахунки")
        assert [option.label for option in options(listing)] == ["123456789", "987654321", "« Назад"]

        notice, card, ask = resident.press("987654321")
        assert notice == Notice()  # the press is answered with nothing to read
        assert card.replaces and "двозонний (день/ніч)" in card.text
        assert not ask.replaces and "1111/2222" in ask.text  # asks in the meter's own format
        assert state_of(resident) == READING

        recorded = said(resident.say("1111/2222"))
        assert "Показання прийнято: 1111/2222" in recorded and "4199,04 грн" in recorded
        resident.say("Мої особові рахунки")
        resident.press("987654321")
        _notice, history = resident.press("Останні показання")
        assert (
            not history.replaces
            and "1111/2222 · Прийнято: зараховано на 01.12.2026 · Telegram · Квитанція " in history.text
        )
    reading = Reading.objects.get()
    assert (reading.channel, reading.channel_user_key, reading.submitted_by) == ("telegram", "111", resident.user)


def test_the_conversation_is_kept_per_channel_and_user_key(home, resident):
    resident.say("Додати особовий рахунок")
    resident.say("123456789")
    row = ConversationState.objects.get()
    assert (row.channel, row.user_key, row.state, row.data) == ("telegram", "111", SERIAL, {"number": "123456789"})
    other = EngineChat(user_id=222, name="Петро")
    assert "Не зрозумів" in said(other.say("AB123"))  # 222 is at no step
    assert "додано" in said(resident.say("AB123"))


def test_a_wrong_serial_goes_back_to_the_number(home, resident):
    resident.say("Додати особовий рахунок")
    resident.say("123456789")
    refused = said(resident.say("ZZ999"))
    assert "з лічильником ZZ999 не знайдено" in refused and "Введіть номер рахунку ще раз" in refused
    assert state_of(resident) == NUMBER
    assert "додано" in link(resident)


def test_a_badly_typed_number_is_asked_again(home, resident):
    resident.say("Додати особовий рахунок")
    assert "від 6 до 12 цифр" in said(resident.say("12-ab"))
    assert state_of(resident) == NUMBER


def test_already_linked_and_too_many_attempts_end_at_the_main_menu(home, resident, settings):
    link(resident)
    resident.say("Додати особовий рахунок")
    resident.say("123456789")
    [reply] = resident.say("AB123")
    assert "уже є у вашому списку" in reply.text and menu(reply) == MENU
    assert state_of(resident) is None
    settings.LINK_ATTEMPTS_MAX = 2
    for guess in ("200000001", "200000002"):
        link(resident, guess, "X1")
    assert "Забагато невдалих спроб" in link(resident, "200000003", "X1")


@pytest.mark.parametrize("way", ["Скасувати", "/cancel", "Cancel"])
@pytest.mark.parametrize("step", [NUMBER, SERIAL, READING, CONFIRM])
def test_cancel_at_every_step_returns_to_the_main_menu(db, resident, way, step):
    MeterFactory(account__number="123456789", serial="AB123", digits=5, initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        if step in (READING, CONFIRM):
            link(resident)
            open_account(resident)
        resident.say("Додати особовий рахунок") if step in (NUMBER, SERIAL) else None
        resident.say("123456789") if step == SERIAL else None
        resident.say("99999") if step == CONFIRM else None
        assert state_of(resident) == step
        [reply] = resident.say(way)
    assert "Скасовано" in reply.text and menu(reply) == MENU
    assert state_of(resident) is None


def test_outside_the_window_the_reading_is_a_control_reading(home, resident):
    with time_machine.travel(BEFORE_WINDOW, tick=True):
        link(resident)
        assert "Наступний прийом: 27.11–03.12.2026." in open_account(resident)
        assert "збережено як контрольні" in said(resident.say("1100"))
    assert Reading.objects.get().status == Reading.Status.CONTROL


def test_an_unusual_reading_asks_yes_or_no_by_option_or_typed(db, resident):
    MeterFactory(account__number="123456789", serial="AB123", digits=5, initial_values=[99950])
    with time_machine.travel(IN_WINDOW, tick=True):
        link(resident)
        open_account(resident)
        [question] = resident.say("30")
        assert "перейшов через 0 після 99999" in question.text
        assert [option.label for option in options(question)] == ["Так", "Ні"]
        assert state_of(resident) == CONFIRM
        notice, removed, declined = resident.press("Ні")
        # The press is answered, the question loses its options, the answer is a new message.
        assert (notice, removed) == (Notice(), Reply(None, replaces=True))
        assert "Гаразд, нічого не збережено" in declined.text and state_of(resident) == READING
        resident.say("30")
        assert "нічого не збережено" in said(resident.say("ні"))
        resident.say("30")
        assert "передано фахівцям на перевірку: 30" in said(resident.say(" Так "))
        resident.say("Мої особові рахунки")
        resident.press("123456789")
        resident.say("31")
        assert "передано фахівцям на перевірку: 31" in said(resident.press("Так"))
    assert Reading.objects.filter(status="needs_review").count() == 1  # the second supersedes the first


def test_yes_and_no_when_nothing_waits_for_an_answer_are_stale(home, resident):
    for action in ("yes", "no"):
        assert resident.send(Choice(action)) == [Notice(resident_stale(), alert=True)]


def resident_stale() -> str:
    return "Ця кнопка вже не діє. Відкрийте «Мої особові рахунки» знову."


def test_a_refused_reading_says_why_and_waits_for_another(home, resident):
    with time_machine.travel(IN_WINDOW, tick=True):
        link(resident)
        open_account(resident)
        assert "Замість «1100,5» надішліть 1100" in said(resident.say("1100,5"))
        assert state_of(resident) == READING
        assert "Показання прийнято: 1100" in said(resident.say("1100"))


def test_an_account_with_two_meters_asks_which_one(db, resident):
    account = PersonalAccountFactory(number="123456789")
    MeterFactory(account=account, serial="AB123")
    MeterFactory(account=account, serial="GARAGE7", zones=3, initial_values=[1, 2, 3])
    with time_machine.travel(IN_WINDOW, tick=True):
        link(resident)
        open_account(resident)
        assert state_of(resident) is None  # which meter is not known yet
        assert "пік/напівпік/ніч" in said(resident.press("Передати показання: GARAGE7"))
        assert "Показання прийнято: 10/20/30" in said(resident.say("10/20/30"))
    assert Reading.objects.get().meter.serial == "GARAGE7"


def test_history_reminders_back_and_removal(home, resident):
    with time_machine.travel(IN_WINDOW, tick=True):
        link(resident)
        open_account(resident)
        resident.say("1100")
        open_account(resident)
        assert "1100 · Прийнято: зараховано на 01.12.2026 · Telegram · Квитанція " in said(
            resident.press("Останні показання")
        )
        _notice, card, _ask = resident.press("« Назад")
        assert card.replaces and "Особовий рахунок 123456789" in card.text
        toast, redrawn = resident.press("Нагадування: увімкнено")
        assert toast == Notice("Нагадування для рахунку 123456789 вимкнено.")
        # Only the options change: the card's text stays as it is.
        assert (
            redrawn.text is None and redrawn.replaces and "Нагадування: вимкнено" in [o.label for o in options(redrawn)]
        )
        assert not AccountLink.objects.get().reminders_enabled
        _notice, question = resident.press("Відв’язати рахунок")
        assert question.replaces and [o.label for o in options(question)] == ["Так, відв’язати", "Ні"]
        _notice, removed, main = resident.press("Так, відв’язати")
        assert removed.replaces and "відв’язано" in removed.text and menu(main) == MENU
    assert not AccountLink.objects.exists() and Reading.objects.count() == 1
    assert "ще немає рахунків" in said(resident.say("Мої особові рахунки"))


def test_reminders_turned_off_for_this_bot_in_the_cabinet_show_off_in_the_bot(home, resident):
    """The account's switch alone would say "on" while the resident stopped this bot's reminders
    in Settings: the card shows what reaches them here, and turning it on asks for them here."""
    link(resident)
    reminder_channel_set(user=resident.user, channel="telegram", enabled=False)
    open_account(resident)
    card = next(answer for answer in reversed(resident.answers) if options(answer))
    assert "Нагадування: вимкнено" in [option.label for option in options(card)]
    toast, redrawn = resident.press("Нагадування: вимкнено")
    assert toast == Notice("Нагадування для рахунку 123456789 увімкнено.")
    assert "Нагадування: увімкнено" in [option.label for option in options(redrawn)]
    identity = ChannelIdentity.objects.get(user=resident.user, channel="telegram")
    assert identity.reminders_enabled and AccountLink.objects.get().reminders_enabled


def test_back_from_the_list_goes_to_the_main_menu(home, resident):
    link(resident)
    resident.say("Мої особові рахунки")
    notice, listing, main = resident.press("« Назад")
    assert notice == Notice() and listing.text == "Оберіть особовий рахунок:" and listing.replaces
    assert menu(main) == MENU


def test_a_message_that_offers_nothing_says_which_menu_stands_after_it(home, resident):
    """For a channel whose keyboard goes with every message (Viber): Cancel while a question
    waits, the main menu once the conversation is at rest."""
    (question,) = resident.say("Додати особовий рахунок")
    assert menu(question) == [["Скасувати"]] and question.standing is None  # it offers its own
    (serial,) = resident.say("123456789")
    assert serial.options is None and serial.standing.rows == (("Скасувати",),)
    (refused,) = resident.say("немає такого")
    assert refused.standing.rows == (("Скасувати",),)
    (cancelled,) = resident.say("Скасувати")
    assert menu(cancelled) == MENU
    (helped,) = resident.say("Допомога")
    assert menu(helped) == MENU and helped.standing is None
    (unknown,) = resident.say("що?")
    assert menu(unknown) == MENU
    link(resident)
    resident.say("Мої особові рахунки")
    _notice, listing, _main = resident.press("« Назад")
    assert [list(row) for row in listing.standing.rows] == MENU


@pytest.mark.parametrize(
    "choice",
    [
        Choice("open", "999999999"),
        Choice("history", "123456789"),
        Choice("reminders", "123456789"),
        Choice("unlink", "123456789"),
        Choice("unlink_yes", "123456789"),
        Choice("meter", "-1"),
        Choice("meter", "notanumber"),
        Choice("nonsense", "1"),
        Choice(""),
    ],
)
def test_an_option_that_is_not_the_residents_is_stale_and_shows_nothing(home, resident, choice):
    owner = EngineChat(user_id=222, name="Петро")
    link(owner)
    resident.say("Додати особовий рахунок")
    answers = resident.send(choice)
    assert answers == [Notice(resident_stale(), alert=True)]
    assert AccountLink.objects.get().reminders_enabled
    # Only a stale card or removal leaves the step; the others do not touch it.
    assert state_of(resident) == (None if choice.action in ("open", "unlink_yes") else NUMBER)


def test_the_meter_option_of_someone_elses_account_is_stale(home, resident):
    owner = EngineChat(user_id=222, name="Петро")
    link(owner)
    assert resident.send(Choice("meter", str(home.pk))) == [Notice(resident_stale(), alert=True)]


def test_help_names_the_window_and_leaves_the_step(db, resident):
    resident.say("Додати особовий рахунок")
    with time_machine.travel(IN_WINDOW, tick=True):
        [reply] = resident.say("Допомога")
    assert "Прийом показань триває до 03.12.2026 (залишилося 6 днів)" in reply.text and menu(reply) == MENU
    assert state_of(resident) == NUMBER


def test_the_signin_link_is_secret_and_leaves_the_step(db, resident, settings):
    settings.PORTAL_URL = "https://pokaznyk.example.ua"
    resident.say("Додати особовий рахунок")
    [reply] = resident.say("/login")
    assert reply.secret and reply.options is None and "https://pokaznyk.example.ua/" in reply.text
    assert state_of(resident) == NUMBER


def test_unreadable_edited_and_not_private(home, resident):
    resident.say("Додати особовий рахунок")
    [photo] = resident.send(Unreadable())
    assert "Я розумію лише текст" in photo.text
    [edit] = resident.send(Unreadable(edited=True))
    assert "Відредаговані повідомлення я не читаю" in edit.text
    assert state_of(resident) == NUMBER
    [group] = resident.send(NotPrivate())
    assert "лише в особистих" in group.text


def test_unknown_text_offers_the_main_menu(db, resident):
    [reply] = resident.say("/unknown")
    assert "Не зрозумів" in reply.text and menu(reply) == MENU


def test_english(home):
    resident = EngineChat(language="en", name="Mary")
    [greeting] = resident.say("/start")
    assert "Hello, Mary" in greeting.text
    assert menu(greeting)[0] == ["Add personal account"]
    assert "personal account number" in said(resident.say("Add personal account"))
    # A label works whatever language drew the menu; the answer is in the resident's language.
    assert "Cancelled" in said(resident.say("Скасувати"))


def test_every_offered_option_is_a_choice_the_engine_takes(home, resident):
    """No option leads to the stale answer while it is fresh: options and steps agree."""
    with time_machine.travel(IN_WINDOW, tick=True):
        link(resident)
        [listing] = resident.say("Мої особові рахунки")
        offered = [listing]
        offered += resident.press("123456789")
        for answer in offered:
            if isinstance(answer, Reply) and isinstance(answer.options, Choices):
                for option in options(answer):
                    resident.say("Мої особові рахунки")
                    resident.press("123456789")
                    got = resident.send(Choice(option.action, option.argument))
                    assert Notice(resident_stale(), alert=True) not in got, option
