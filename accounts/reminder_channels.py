"""The resident's switches of where window reminders go: each bot they use, and their email.

Beside the switch of each account (AccountLink.reminders_enabled): a reminder goes to every
channel switched on, naming the accounts switched on. What reaches the resident in the end is
botbridge.routes' to say.
"""

from accounts.errors import ReminderChannelUnknown
from accounts.models import ChannelIdentity, User

EMAIL = "email"


def reminder_channel_set(*, user: User, channel: str, enabled: bool) -> None:
    """Turn reminders on `channel` ("email", or a bot: "telegram", "viber", "messenger") on or off."""
    if channel == EMAIL:
        if not user.email:
            raise ReminderChannelUnknown()
        User.objects.filter(pk=user.pk).update(email_reminders_enabled=enabled)
        user.email_reminders_enabled = enabled
        return
    if channel not in ChannelIdentity.Channel.values:
        raise ReminderChannelUnknown()
    if not ChannelIdentity.objects.filter(user=user, channel=channel).update(reminders_enabled=enabled):
        raise ReminderChannelUnknown()
