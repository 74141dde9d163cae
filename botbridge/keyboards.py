"""The bot's keyboards and the callback data behind inline buttons (at most 64 bytes each)."""

from collections.abc import Iterable

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)

from botbridge import texts


class AccountAction(CallbackData, prefix="acc"):
    action: str  # list, open, history, reminders, unlink, unlink_yes
    number: str = ""


class MeterChoice(CallbackData, prefix="mtr"):
    meter_id: int


class Confirm(CallbackData, prefix="cf"):
    answer: str  # yes, no


def main_menu() -> ReplyKeyboardMarkup:
    """The seed's three buttons at the bottom of the chat, and the way into the web cabinet."""
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=str(texts.MENU_ADD))],
            [KeyboardButton(text=str(texts.MENU_ACCOUNTS)), KeyboardButton(text=str(texts.MENU_HELP))],
            [KeyboardButton(text=str(texts.MENU_SIGNIN))],
        ],
        resize_keyboard=True,
        is_persistent=True,
    )


def cancel_only() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text=str(texts.CANCEL))]], resize_keyboard=True)


def _button(text: object, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=str(text), callback_data=data.pack())


def accounts(numbers: Iterable[str]) -> InlineKeyboardMarkup:
    """One button per account, its text the account number (as in the seed), and Back."""
    rows = [[_button(number, AccountAction(action="open", number=number))] for number in numbers]
    rows.append([_button(texts.BACK, AccountAction(action="menu"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def account_card(number: str, meters: Iterable, reminders_enabled: bool) -> InlineKeyboardMarkup:
    meters = list(meters)
    rows = []
    if len(meters) > 1:
        rows += [
            [_button(texts.SUBMIT_FOR.format(serial=meter.serial), MeterChoice(meter_id=meter.pk))] for meter in meters
        ]
    reminders = texts.REMINDERS_ON if reminders_enabled else texts.REMINDERS_OFF
    rows += [
        [_button(texts.HISTORY, AccountAction(action="history", number=number))],
        [_button(reminders, AccountAction(action="reminders", number=number))],
        [_button(texts.UNLINK, AccountAction(action="unlink", number=number))],
        [_button(texts.BACK, AccountAction(action="list"))],
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def back_to_account(number: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(texts.BACK, AccountAction(action="open", number=number))]])


def unlink_confirm(number: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(texts.UNLINK_YES, AccountAction(action="unlink_yes", number=number)),
                _button(texts.NO, AccountAction(action="open", number=number)),
            ]
        ]
    )


def yes_no() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[_button(texts.YES, Confirm(answer="yes")), _button(texts.NO, Confirm(answer="no"))]]
    )
