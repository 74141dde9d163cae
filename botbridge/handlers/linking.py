"""Add a personal account: its number, then the serial printed on the meter."""

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from asgiref.sync import sync_to_async

from accounts.errors import AccountMeterMismatch, DomainError, MeterSerialInvalid
from accounts.models import User
from accounts.services import account_link, account_number_normalize
from botbridge import keyboards, texts
from botbridge.states import Linking

router = Router(name="linking")


@router.message(Linking.number, F.text)
async def account_number(message: Message, state: FSMContext) -> None:
    try:
        number = account_number_normalize(message.text)
    except DomainError as refusal:
        await message.answer(f"{refusal.message}\n{texts.retry_account_number()}")
        return
    await state.update_data(number=number)
    await state.set_state(Linking.serial)
    await message.answer(texts.ask_meter_serial(number))


@router.message(Linking.serial, F.text)
async def meter_serial(message: Message, state: FSMContext, user: User) -> None:
    number = (await state.get_data())["number"]
    try:
        link = await sync_to_async(account_link)(user=user, account_number=number, meter_serial=message.text)
    except MeterSerialInvalid as refusal:
        await message.answer(f"{refusal.message}\n{texts.retry_meter_serial()}")
        return
    except AccountMeterMismatch as refusal:
        # Either number may be the wrong one and the answer must not say which: both again.
        await state.set_state(Linking.number)
        await message.answer(f"{refusal.message}\n{texts.retry_account_number()}")
        return
    except DomainError as refusal:  # already linked, too many attempts: nothing to retry now
        await state.clear()
        await message.answer(refusal.message, reply_markup=keyboards.main_menu())
        return
    await state.clear()
    await message.answer(texts.linked(link.account.number, link.account.address), reply_markup=keyboards.main_menu())
