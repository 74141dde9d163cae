"""Telegram updates in, the engine's answers out: no rule of the conversation is decided here."""

import logging

import aiohttp
from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter
from aiogram.filters.command import Command as CommandFilter
from aiogram.filters.command import CommandException
from aiogram.types import CallbackQuery, ChatMemberUpdated, LinkPreviewOptions, Message, Update
from asgiref.sync import sync_to_async

from botbridge.channels.inbound import event_answer, event_block
from botbridge.channels.telegram.keyboards import choice, markup
from botbridge.conversation import (
    COMMANDS,
    Answer,
    Command,
    Event,
    Notice,
    NotPrivate,
    Photo,
    Reply,
    Text,
    Unreadable,
    converse,
)
from botbridge.services import event_claim, telegram_update_key
from readings.photos import MAX_BYTES as PHOTO_MAX_BYTES

logger = logging.getLogger(__name__)
CHANNEL = "telegram"
router = Router(name="telegram")


async def command_in(text: str | None, bot: Bot) -> Command | None:
    """`/name`, `/name args` or `/name@this_bot` for a command the engine knows, read the way
    Telegram clients write commands (and aiogram's Command filter reads them)."""
    if not text:
        return None
    try:
        command = CommandFilter.extract_command(text)
    except CommandException:
        return None
    if command.prefix != "/" or command.command not in COMMANDS:
        return None
    if command.mention:
        me = await bot.me()
        if me.username and command.mention.lower() != me.username.lower():
            return None  # addressed to another bot
    return Command(command.command)


async def event_of(message: Message, bot: Bot) -> Event:
    if message.chat.type != "private":
        return NotPrivate()
    # A command is read from a caption too (a photo sent with /help under it).
    command = await command_in(message.text or message.caption, bot)
    if command is not None:
        return command
    if message.text:
        return Text(message.text)
    if picture := picture_of(message):
        return await photo_fetch(bot, picture, message.caption or "")
    return Unreadable()


def picture_of(message: Message):
    """The largest size of a photo (Telegram sends several, smallest first), or an image sent as
    a file (how phones send HEIC and full-quality photos); None for anything else."""
    if message.photo:
        return message.photo[-1]
    document = message.document
    if document is not None and (document.mime_type or "").startswith("image/"):
        return document
    return None


async def photo_fetch(bot: Bot, picture, caption: str) -> Photo:
    """The picture's bytes through the Bot API (getFile, then the file itself)."""
    if (picture.file_size or 0) > PHOTO_MAX_BYTES:  # not fetched just to be refused
        return Photo(content=None, caption=caption, too_big=True)
    try:
        file = await bot.get_file(picture.file_id)
        if (file.file_size or 0) > PHOTO_MAX_BYTES:
            return Photo(content=None, caption=caption, too_big=True)
        content = await bot.download_file(file.file_path, timeout=60)
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as error:
        logger.warning("photo %s not fetched: %s", picture.file_unique_id, error)
        return Photo(content=None, caption=caption)
    return Photo(content=content.getvalue(), caption=caption)


async def answer(
    *, event: Event, bot: Bot, update: Update, language: str, from_user, chat_id: int | None = None
) -> list[Answer] | None:
    """The engine's answers, or None for an update taken before (a re-delivery)."""
    key = telegram_update_key(bot_id=bot.id, update_id=update.update_id)
    if from_user is None or isinstance(event, NotPrivate):
        # Not a resident in a private chat: nothing is written, the engine only refuses.
        if not await sync_to_async(event_claim)(channel=CHANNEL, key=key):
            return None
        user_key = str(from_user.id) if from_user is not None else str(chat_id)
        return await sync_to_async(converse)(
            channel=CHANNEL, user_key=user_key, user=None, event=event, language=language
        )
    return await sync_to_async(event_answer)(
        channel=CHANNEL,
        event_key=key,
        external_id=str(from_user.id),
        event=event,
        name=from_user.first_name or "",
        username=from_user.username or "",
        language_code=from_user.language_code or "",
    )


@router.message()
async def on_message(message: Message, bot: Bot, event_update: Update, language: str) -> None:
    event = await event_of(message, bot)
    replies = await answer(event=event, bot=bot, update=event_update, language=language, from_user=message.from_user)
    if replies is not None:
        await send(message, replies)


@router.edited_message()
async def on_edit(message: Message, bot: Bot, event_update: Update, language: str) -> None:
    event = Unreadable(edited=True) if message.chat.type == "private" else NotPrivate()
    replies = await answer(event=event, bot=bot, update=event_update, language=language, from_user=message.from_user)
    if replies is not None:
        await send(message, replies)


@router.channel_post()
async def on_channel_post(message: Message, bot: Bot, event_update: Update, language: str) -> None:
    replies = await answer(
        event=NotPrivate(), bot=bot, update=event_update, language=language, from_user=None, chat_id=message.chat.id
    )
    if replies is not None:
        await send(message, replies)


@router.callback_query()
async def on_button(callback: CallbackQuery, bot: Bot, event_update: Update, language: str) -> None:
    message = callback.message
    event = choice(callback.data) if message is None or message.chat.type == "private" else NotPrivate()
    replies = await answer(event=event, bot=bot, update=event_update, language=language, from_user=callback.from_user)
    if replies is None:
        return
    # Every press is answered once, first: with the engine's notice, or with nothing.
    notice = next((reply for reply in replies if isinstance(reply, Notice)), Notice())
    await callback.answer(notice.text or None, show_alert=notice.alert or None)
    if message is not None:
        await send(message, [reply for reply in replies if reply is not notice], on_button=True)


async def send(message: Message, replies: list[Answer], *, on_button: bool = False) -> None:
    """The answers in order: a reply that replaces edits the message the button was on."""
    for reply in replies:
        if isinstance(reply, Notice):
            reply = Reply(reply.text)  # a notice outside a button press is a message like any other
        if on_button and reply.replaces and reply.text is None:
            await message.edit_reply_markup(reply_markup=markup(reply.options))
        elif on_button and reply.replaces:
            await replace(message, reply)
        else:
            preview = LinkPreviewOptions(is_disabled=True) if reply.secret else None
            await message.answer(reply.text, reply_markup=markup(reply.options), link_preview_options=preview)


async def replace(message: Message, reply: Reply) -> None:
    """Edit the message; send anew when it cannot be edited."""
    try:
        await message.edit_text(reply.text, reply_markup=markup(reply.options))
    except TelegramBadRequest as error:
        if "not modified" not in error.message:
            await message.answer(reply.text, reply_markup=markup(reply.options))


# Not the conversation: whether the resident can be written to at all (reminders, notices).
@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED))
async def blocked(event: ChatMemberUpdated, bot: Bot, event_update: Update) -> None:
    await reachable(event, bot, event_update, blocked=True)


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=MEMBER))
async def unblocked(event: ChatMemberUpdated, bot: Bot, event_update: Update) -> None:
    await reachable(event, bot, event_update, blocked=False)


async def reachable(event: ChatMemberUpdated, bot: Bot, update: Update, *, blocked: bool) -> None:
    key = telegram_update_key(bot_id=bot.id, update_id=update.update_id)
    await sync_to_async(event_block)(
        channel=CHANNEL, event_key=key, external_id=str(event.from_user.id), blocked=blocked
    )
