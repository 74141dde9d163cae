"""The engine's options as Telegram keyboards, and inline buttons' callback data (at most
64 bytes each) back into the option that drew them."""

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from botbridge.conversation import Choice, Choices, Menu, Option, menus


class AccountAction(CallbackData, prefix="acc"):
    action: str  # menu, list, open, history, reminders, unlink, unlink_yes
    number: str = ""


class MeterChoice(CallbackData, prefix="mtr"):
    meter_id: int


class Confirm(CallbackData, prefix="cf"):
    answer: str  # yes, no


def markup(options: Choices | Menu | None) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
    """A menu is a reply keyboard under the input; choices are inline buttons on the message."""
    if isinstance(options, Menu):
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=label) for label in row] for row in options.rows],
            resize_keyboard=True,
            is_persistent=options.lasting or None,
        )
    if isinstance(options, Choices):
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=option.label, callback_data=callback_data(option)) for option in row]
                for row in options.rows
            ]
        )
    return None


def callback_data(option: Option) -> str:
    # The packed forms of the bot before the engine, so buttons already in chats keep working.
    if option.action == menus.METER:
        return MeterChoice(meter_id=int(option.argument)).pack()
    if option.action in (menus.YES, menus.NO):
        return Confirm(answer=option.action).pack()
    return AccountAction(action=option.action, number=option.argument).pack()


def choice(data: str | None) -> Choice:
    """The choice a button's data stands for; an empty one for data no button of ours carries."""
    for factory, read in (
        (AccountAction, lambda packed: Choice(packed.action, packed.number)),
        (MeterChoice, lambda packed: Choice(menus.METER, str(packed.meter_id))),
        (Confirm, lambda packed: Choice(packed.answer)),
    ):
        try:
            return read(factory.unpack(data or ""))
        except (TypeError, ValueError):
            continue
    return Choice("")
