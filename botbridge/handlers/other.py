"""Everything else: groups and channels, non-text messages, edits, blocks, stale buttons, unknown text."""

import logging

from aiogram import F, Router
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message
from asgiref.sync import sync_to_async

from accounts.services import telegram_identity_block
from botbridge import keyboards, texts

logger = logging.getLogger(__name__)

# Tried first: the bot talks to residents in private chats only.
elsewhere = Router(name="elsewhere")
elsewhere.message.filter(F.chat.type != "private")
elsewhere.edited_message.filter(F.chat.type != "private")


@elsewhere.message()
@elsewhere.edited_message()
@elsewhere.channel_post()
async def not_private(message: Message) -> None:
    await message.answer(texts.private_only())


# Tried last: whatever no feature took.
router = Router(name="other")


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED))
async def blocked(event: ChatMemberUpdated) -> None:
    await sync_to_async(telegram_identity_block)(telegram_id=event.from_user.id, blocked=True)


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=MEMBER))
async def unblocked(event: ChatMemberUpdated) -> None:
    await sync_to_async(telegram_identity_block)(telegram_id=event.from_user.id, blocked=False)


@router.edited_message()
async def edited(message: Message) -> None:
    await message.answer(texts.edited_ignored())


@router.message(F.text)
async def unknown_text(message: Message) -> None:
    await message.answer(texts.unknown_text(), reply_markup=keyboards.main_menu())


@router.message()
async def not_text(message: Message) -> None:
    """Stickers, photos (captions too), voice, contacts, locations, documents."""
    await message.answer(texts.text_only())


@router.callback_query()
async def stale(callback: CallbackQuery) -> None:
    await callback.answer(texts.stale_button(), show_alert=True)
