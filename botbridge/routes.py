"""Where a resident's window reminders go: one answer for the cabinet's settings page, its
dashboard and the reminders' listing (botbridge.services.broadcast_fill), so the cabinet never
says "reminders on" to someone no reminder will reach.

A bot reaches the resident through their identity on it, unless they blocked the bot or turned
reminders off there; email reaches them at a confirmed address with reminders by email on. A
channel that is off (no bot token, no SMTP server) reaches no one and is not offered.
"""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import AccountLink, ChannelIdentity, User
from botbridge.outbound import EMAIL, bot_channels, channel_is_on


def reminder_identities() -> QuerySet[ChannelIdentity]:
    """The bot identities window reminders are listed for."""
    return ChannelIdentity.objects.filter(channel__in=bot_channels(), blocked_at__isnull=True, reminders_enabled=True)


def reminder_email_users() -> QuerySet[User]:
    """The residents window reminders are emailed to."""
    return User.objects.filter(is_active=True, email_verified_at__isnull=False, email_reminders_enabled=True).exclude(
        email=""
    )


@dataclass(frozen=True)
class Route:
    """One channel a resident has: a bot they use, or their email address."""

    channel: str  # "telegram", "viber", "messenger", "email"
    label: str  # the channel's name: "Telegram", "Email"
    target: str  # who on it: "@maria", the address; may be empty (Messenger tells no name)
    enabled: bool  # the resident's switch for reminders on this channel
    confirmed: bool = True  # an email address is confirmed; a bot identity always is

    @property
    def reaches(self) -> bool:
        return self.enabled and self.confirmed


@dataclass(frozen=True)
class Routes:
    routes: tuple[Route, ...]
    email: str  # the address on the account, "" when none
    email_offered: bool  # email reminders can be sent at all (the channel is on)
    accounts: int  # the resident's active accounts
    accounts_on: int  # of them, those with reminders on
    bots_on: tuple[str, ...] = ()  # the names of the bots that run, where the resident could add an account

    @property
    def reaching(self) -> list[Route]:
        return [route for route in self.routes if route.reaches]

    @property
    def email_route(self) -> Route | None:
        return next((route for route in self.routes if route.channel == EMAIL), None)

    @property
    def problem(self) -> str:
        """Why no reminder reaches the resident, "" when one does:

        "unconfirmed": the only way left is an address still to confirm;
        "channels_off": the resident turned reminders off on every channel they have;
        "no_channel": no bot, and no address (or email is off)."""
        if self.reaching:
            return ""
        email = self.email_route
        if email is not None and not email.confirmed:
            return "unconfirmed"
        if self.routes:
            return "channels_off"
        return "no_channel"

    @property
    def accounts_off(self) -> bool:
        """Every account's reminders are off: the resident chose silence."""
        return self.accounts > 0 and self.accounts_on == 0


def reminder_routes(*, user: User) -> Routes:
    bots_on = [channel for channel in bot_channels() if channel_is_on(channel)]
    identities = (
        ChannelIdentity.objects.filter(user=user, channel__in=bots_on, blocked_at__isnull=True) if bots_on else []
    )
    routes = [
        Route(
            channel=identity.channel,
            label=identity.get_channel_display(),
            target=f"@{identity.username}" if identity.username else identity.display_name,
            enabled=identity.reminders_enabled,
        )
        for identity in sorted(identities, key=lambda identity: bots_on.index(identity.channel))
    ]
    email_offered = channel_is_on(EMAIL)
    if email_offered and user.email:
        routes.append(
            Route(
                channel=EMAIL,
                label=str(_("Email")),
                target=user.email,
                enabled=user.email_reminders_enabled,
                confirmed=user.email_verified_at is not None,
            )
        )
    switches = list(
        AccountLink.objects.filter(user=user, account__is_active=True).values_list("reminders_enabled", flat=True)
    )
    return Routes(
        routes=tuple(routes),
        email=user.email,
        email_offered=email_offered,
        accounts=len(switches),
        accounts_on=sum(switches),
        bots_on=tuple(str(ChannelIdentity.Channel(channel).label) for channel in bots_on),
    )
