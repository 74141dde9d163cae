"""/login and its button: a one-time link that signs the resident in to the web cabinet."""

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import LinkPreviewOptions, Message
from asgiref.sync import sync_to_async

from accounts.errors import DomainError
from accounts.models import User
from accounts.services import signin_link_issue
from botbridge import texts

router = Router(name="cabinet")


@router.message(Command("login"))
@router.message(F.text.in_(texts.in_every_language(texts.MENU_SIGNIN)))
async def signin_link(message: Message, user: User) -> None:
    try:
        url = await sync_to_async(signin_link_issue)(user=user)
    except DomainError as refusal:
        await message.answer(refusal.message)
        return
    # No preview: Telegram's servers would fetch the link to draw one. The page redeems only
    # on a POST, but the link should reach no one but the resident.
    await message.answer(texts.signin_link(url), link_preview_options=LinkPreviewOptions(is_disabled=True))
