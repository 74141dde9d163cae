"""/start, /help, /cancel and the main keyboard: they work at every step."""

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from asgiref.sync import sync_to_async
from django.utils import timezone

from accounts.models import User
from accounts.selectors import linked_account_numbers
from botbridge import keyboards, texts
from botbridge.states import Linking
from readings.selectors import window_on

router = Router(name="menu")


@router.message(CommandStart())
async def start(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(texts.greeting(message.from_user.first_name), reply_markup=keyboards.main_menu())


@router.message(Command("cancel"))
@router.message(F.text.in_(texts.in_every_language(texts.CANCEL)))
async def cancel(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(texts.cancelled(), reply_markup=keyboards.main_menu())


@router.message(Command("help"))
@router.message(F.text.in_(texts.in_every_language(texts.MENU_HELP)))
async def help_(message: Message) -> None:
    window = await sync_to_async(window_on)()
    await message.answer(texts.help_text(window, timezone.localdate()), reply_markup=keyboards.main_menu())


@router.message(Command("add"))
@router.message(F.text.in_(texts.in_every_language(texts.MENU_ADD)))
async def add_account(message: Message, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(Linking.number)
    await message.answer(texts.ask_account_number(), reply_markup=keyboards.cancel_only())


@router.message(Command("accounts"))
@router.message(F.text.in_(texts.in_every_language(texts.MENU_ACCOUNTS)))
async def my_accounts(message: Message, state: FSMContext, user: User) -> None:
    await state.clear()
    numbers = await sync_to_async(linked_account_numbers)(user=user)
    if not numbers:
        await message.answer(texts.no_accounts(), reply_markup=keyboards.main_menu())
        return
    await message.answer(texts.choose_account(), reply_markup=keyboards.accounts(numbers))
