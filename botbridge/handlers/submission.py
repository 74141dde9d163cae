"""A reading for the chosen meter, and the Так / Ні of an unusual one."""

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from asgiref.sync import sync_to_async

from accounts.errors import DomainError
from accounts.models import User
from botbridge import keyboards, texts
from botbridge.actions import reading_from_chat
from botbridge.keyboards import Confirm
from botbridge.states import Submitting
from readings.errors import ConfirmationRequired

router = Router(name="submission")


async def submit(message: Message, state: FSMContext, user: User, text: str, *, confirm: bool) -> None:
    data = await state.get_data()
    try:
        recorded = await sync_to_async(reading_from_chat)(
            user=user, meter_id=data["meter_id"], text=text, chat_id=message.chat.id, confirm=confirm
        )
    except ConfirmationRequired as question:
        await state.set_state(Submitting.confirm)
        await state.update_data(pending=text)
        await message.answer(texts.confirm_question(question.message), reply_markup=keyboards.yes_no())
        return
    except DomainError as refusal:
        await state.set_state(Submitting.reading)
        await message.answer(refusal.message)
        return
    await state.clear()
    reply = texts.recorded(recorded.reading, recorded.cost, recorded.next_window)
    await message.answer(reply, reply_markup=keyboards.main_menu())


def typed(label: object) -> set[str]:
    return {variant.lower() for variant in texts.in_every_language(label)}


@router.message(Submitting.confirm, F.text.lower().strip().in_(typed(texts.YES)))
async def confirmed_by_text(message: Message, state: FSMContext, user: User) -> None:
    pending = (await state.get_data())["pending"]
    await submit(message, state, user, pending, confirm=True)


@router.message(Submitting.confirm, F.text.lower().strip().in_(typed(texts.NO)))
async def declined_by_text(message: Message, state: FSMContext) -> None:
    await state.set_state(Submitting.reading)
    await message.answer(texts.confirm_declined((await state.get_data())["zones"]))


@router.message(Submitting.reading, F.text)
@router.message(Submitting.confirm, F.text)  # a new reading instead of an answer
async def reading(message: Message, state: FSMContext, user: User) -> None:
    await submit(message, state, user, message.text, confirm=False)


@router.callback_query(Submitting.confirm, Confirm.filter(F.answer == "yes"))
async def confirmed(callback: CallbackQuery, state: FSMContext, user: User) -> None:
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)
    pending = (await state.get_data())["pending"]
    await submit(callback.message, state, user, pending, confirm=True)


@router.callback_query(Submitting.confirm, Confirm.filter(F.answer == "no"))
async def declined(callback: CallbackQuery, state: FSMContext) -> None:
    await callback.answer()
    await callback.message.edit_reply_markup(reply_markup=None)
    await state.set_state(Submitting.reading)
    await callback.message.answer(texts.confirm_declined((await state.get_data())["zones"]))
