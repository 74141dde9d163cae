"""The options the conversation offers, built from the texts in the current language."""

from collections.abc import Iterable

from botbridge import texts
from botbridge.conversation.replies import Choices, Menu, Option

# The actions of `Option`s; a `Choice` carries one of them back.
MENU, LIST, OPEN, HISTORY, REMINDERS, UNLINK, UNLINK_YES = (
    "menu",
    "list",
    "open",
    "history",
    "reminders",
    "unlink",
    "unlink_yes",
)
METER, YES, NO = "meter", "yes", "no"


def main_menu() -> Menu:
    """The seed's three buttons, and the way into the web cabinet."""
    return Menu(
        rows=((str(texts.MENU_ADD),), (str(texts.MENU_ACCOUNTS), str(texts.MENU_HELP)), (str(texts.MENU_SIGNIN),)),
        lasting=True,
    )


def cancel_only() -> Menu:
    return Menu(rows=((str(texts.CANCEL),),))


def standing(step: str | None) -> Menu:
    """The menu in effect at a step: Cancel while a question waits for its answer (the main
    menu's labels work then too), the main menu at rest."""
    return main_menu() if step is None else cancel_only()


def _one(label: object, action: str, argument: str = "") -> tuple[Option]:
    return (Option(str(label), action, argument),)


def accounts(numbers: Iterable[str]) -> Choices:
    """One option per account, its label the account number (as in the seed), and Back."""
    return Choices(rows=(*(_one(number, OPEN, number) for number in numbers), _one(texts.BACK, MENU)))


def account_card(number: str, meters: list, reminders_enabled: bool) -> Choices:
    rows = []
    if len(meters) > 1:
        rows += [_one(texts.SUBMIT_FOR.format(serial=meter.serial), METER, str(meter.pk)) for meter in meters]
    rows += [
        _one(texts.HISTORY, HISTORY, number),
        _one(texts.REMINDERS_ON if reminders_enabled else texts.REMINDERS_OFF, REMINDERS, number),
        _one(texts.UNLINK, UNLINK, number),
        _one(texts.BACK, LIST),
    ]
    return Choices(rows=tuple(rows))


def back_to_account(number: str) -> Choices:
    return Choices(rows=(_one(texts.BACK, OPEN, number),))


def unlink_confirm(number: str) -> Choices:
    return Choices(rows=((Option(str(texts.UNLINK_YES), UNLINK_YES, number), Option(str(texts.NO), OPEN, number)),))


def yes_no() -> Choices:
    return Choices(rows=((Option(str(texts.YES), YES), Option(str(texts.NO), NO)),))
