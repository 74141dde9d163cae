"""A resident's accounts: the list, an account's card, history, reminders, removal."""

from collections.abc import Callable
from typing import Any, TypeVar

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from asgiref.sync import sync_to_async

from accounts.errors import DomainError
from accounts.models import Meter, User
from accounts.selectors import account_link_get, linked_account_numbers
from accounts.services import account_link_reminders_set, account_unlink
from botbridge import keyboards, texts
from botbridge.keyboards import AccountAction, MeterChoice
from botbridge.states import Submitting
from readings.selectors import account_history, account_overview, linked_meter

router = Router(name="accounts")
T = TypeVar("T")


async def show(callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replace the message the button was on; send anew when it cannot be edited."""
    try:
        await callback.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as error:
        if "not modified" not in error.message:
            await callback.message.answer(text, reply_markup=markup)


async def or_stale(callback: CallbackQuery, read: Callable[..., T], **kwargs: Any) -> T | None:
    """`read(**kwargs)`, or None once the resident is told the button no longer works
    (the account was removed, or the button was never theirs)."""
    try:
        return await sync_to_async(read)(**kwargs)
    except DomainError:
        await callback.answer(texts.stale_button(), show_alert=True)
        return None


async def ask_for_reading(message: Message, state: FSMContext, meter: Meter) -> None:
    await state.set_state(Submitting.reading)
    await state.set_data({"meter_id": meter.pk, "zones": meter.zones})
    await message.answer(texts.ask_reading(meter.zones))


@router.callback_query(AccountAction.filter(F.action == "menu"))
async def to_menu(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await callback.answer()
    await show(callback, texts.choose_account())
    await callback.message.answer(texts.main_menu(), reply_markup=keyboards.main_menu())


@router.callback_query(AccountAction.filter(F.action == "list"))
async def account_list(callback: CallbackQuery, state: FSMContext, user: User) -> None:
    await state.clear()
    await callback.answer()
    numbers = await sync_to_async(linked_account_numbers)(user=user)
    if not numbers:
        await show(callback, texts.no_accounts())
        return
    await show(callback, texts.choose_account(), keyboards.accounts(numbers))


@router.callback_query(AccountAction.filter(F.action == "open"))
async def account_card(callback: CallbackQuery, callback_data: AccountAction, state: FSMContext, user: User) -> None:
    await state.clear()
    overview = await or_stale(callback, account_overview, user=user, number=callback_data.number)
    if overview is None:
        return
    await callback.answer()
    meters = [meter for meter, _last in overview.meters]
    await show(
        callback,
        texts.account_card(overview),
        keyboards.account_card(callback_data.number, meters, overview.reminders_enabled),
    )
    if len(meters) == 1:
        await ask_for_reading(callback.message, state, meters[0])


@router.callback_query(MeterChoice.filter())
async def meter_chosen(callback: CallbackQuery, callback_data: MeterChoice, state: FSMContext, user: User) -> None:
    meter = await or_stale(callback, linked_meter, user=user, meter_id=callback_data.meter_id)
    if meter is None:
        return
    await callback.answer()
    await ask_for_reading(callback.message, state, meter)


@router.callback_query(AccountAction.filter(F.action == "history"))
async def history(callback: CallbackQuery, callback_data: AccountAction, user: User) -> None:
    overview = await or_stale(callback, account_overview, user=user, number=callback_data.number)
    if overview is None:
        return
    await callback.answer()
    readings = await sync_to_async(account_history)(account_id=overview.account.pk)
    await callback.message.answer(
        texts.history(callback_data.number, readings), reply_markup=keyboards.back_to_account(callback_data.number)
    )


@router.callback_query(AccountAction.filter(F.action == "reminders"))
async def reminders(callback: CallbackQuery, callback_data: AccountAction, user: User) -> None:
    number = callback_data.number
    overview = await or_stale(callback, account_overview, user=user, number=number)
    if overview is None:
        return
    link = await or_stale(
        callback, account_link_reminders_set, user=user, account_number=number, enabled=not overview.reminders_enabled
    )
    if link is None:
        return
    await callback.answer(texts.reminders(link.reminders_enabled, number))
    meters = [meter for meter, _last in overview.meters]
    await callback.message.edit_reply_markup(
        reply_markup=keyboards.account_card(number, meters, link.reminders_enabled)
    )


@router.callback_query(AccountAction.filter(F.action == "unlink"))
async def unlink_question(callback: CallbackQuery, callback_data: AccountAction, user: User) -> None:
    if await or_stale(callback, account_link_get, user=user, number=callback_data.number) is None:
        return
    await callback.answer()
    await show(callback, texts.unlink_question(callback_data.number), keyboards.unlink_confirm(callback_data.number))


@router.callback_query(AccountAction.filter(F.action == "unlink_yes"))
async def unlink(callback: CallbackQuery, callback_data: AccountAction, state: FSMContext, user: User) -> None:
    await state.clear()
    try:
        await sync_to_async(account_unlink)(user=user, account_number=callback_data.number)
    except DomainError:
        await callback.answer(texts.stale_button(), show_alert=True)
        return
    await callback.answer()
    await show(callback, texts.unlinked(callback_data.number))
    await callback.message.answer(texts.main_menu(), reply_markup=keyboards.main_menu())
