"""People on the channels (Telegram, Viber, Messenger) as portal users, and whether they block the bot."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import ChannelIdentity, User

# The portal username of a user first met on a channel; Telegram's keeps the "tg" it always had.
USERNAME_PREFIX = {"telegram": "tg", "viber": "vb", "messenger": "fb"}


# `messaged_at` is written again only when it is older than this: not a write per message.
MESSAGED_AT_PRECISION = dt.timedelta(minutes=1)


def channel_identity_resolve(
    *,
    channel: str,
    external_id: str,
    display_name: str = "",
    username: str = "",
    language_code: str | None = None,
    in_bot: bool = True,
) -> User:
    """The portal user of a person on a channel, created on first contact; always the same one.

    `language_code=None` keeps the stored language: the Login Widget sends none, and a
    sign-in on the web must not wipe the one the bot learnt. `in_bot=False` (a sign-in on
    the web) says nothing about whether the user still blocks the bot.
    """
    profile = {"display_name": display_name[:128], "username": (username or "")[:64]}
    now = timezone.now()
    if language_code is not None:
        profile["language_code"] = language_code[:16]
    identities = ChannelIdentity.objects.select_related("user").filter(channel=channel, external_id=external_id)
    identity = identities.first()
    if identity is None:
        try:
            with transaction.atomic():
                user = User(username=f"{USERNAME_PREFIX[channel]}{external_id}"[:150], first_name=display_name[:150])
                user.set_unusable_password()
                user.save()
                messaged_at = now if in_bot else None
                ChannelIdentity.objects.create(
                    user=user, channel=channel, external_id=external_id, messaged_at=messaged_at, **profile
                )
                return user
        except IntegrityError:
            # Two first updates of one user raced; the other one created the identity.
            identity = identities.get()
    changed = {field: value for field, value in profile.items() if getattr(identity, field) != value}
    if in_bot and identity.blocked_at:
        # Writing to the user is possible again: an update from them in the bot means they are back.
        changed["blocked_at"] = None
    if in_bot and (identity.messaged_at is None or now - identity.messaged_at > MESSAGED_AT_PRECISION):
        changed["messaged_at"] = now
    if changed:
        ChannelIdentity.objects.filter(pk=identity.pk).update(**changed)
    return identity.user


def channel_identity_block(*, channel: str, external_id: str, blocked: bool) -> None:
    """Record that the person blocked the bot on the channel (or unblocked it): what the channels'
    webhooks learn from the platform, and the broadcast sender from a refused message. Nothing is
    sent to a person marked blocked until they write to the bot again (channel_identity_resolve)."""
    ChannelIdentity.objects.filter(channel=channel, external_id=external_id).update(
        blocked_at=timezone.now() if blocked else None
    )
