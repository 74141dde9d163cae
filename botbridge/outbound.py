"""What the one sender (botbridge.sending) needs from a channel: a transport.

A transport knows one platform: how fast it may be written to, how to send one text to one
recipient, and what the platform's answer means. The sender knows the rest (claiming, ticks,
at most once, the lock, backoff), once for every channel.
"""

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Sent:
    pass


@dataclass(frozen=True)
class Blocked:
    """The recipient is gone (blocked the bot, left the platform): their identity is marked."""


@dataclass(frozen=True)
class RetryAfter:
    """The platform's rate limit: the whole sender pauses, the message is queued again."""

    seconds: float


@dataclass(frozen=True)
class Transient:
    """Network trouble or a server error: queued again with a growing delay."""

    error: str


@dataclass(frozen=True)
class Failed:
    """The platform refused this message for good."""

    error: str


Outcome = Sent | Blocked | RetryAfter | Transient | Failed


class Transport(Protocol):
    channel: str
    rate: int  # messages a second over all recipients
    per_recipient_interval: float  # seconds between two messages to one recipient
    attempts: int  # sends of one message before a transient error fails it

    # `kind`: the broadcast's kind (Broadcast.Kind): a platform may send some kinds only in
    # some ways (Messenger, outside its 24-hour window, only reminders, as a template).
    async def send(self, recipient_key: str, text: str, *, kind: str) -> Outcome: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class TransportSpec:
    token_setting: str  # the channel is on when this setting is set
    factory: str  # dotted path of a callable that makes the transport (inside the sender's event loop)
    off_reason: str = ""  # what the sender says while the channel is off, when not "the bot is off"

    def why_off(self) -> str:
        return self.off_reason or f"the bot is off: {self.token_setting} is not set"


EMAIL = "email"

# Every channel the sender can deliver to. Reminders and notices are listed for these only, so
# no delivery waits for a transport that does not exist; a channel's deliveries are sent while
# its token is set and wait while it is not.
TRANSPORTS: dict[str, TransportSpec] = {
    "telegram": TransportSpec("TELEGRAM_BOT_TOKEN", "botbridge.channels.telegram.outbound.TelegramTransport"),
    "viber": TransportSpec("VIBER_AUTH_TOKEN", "botbridge.channels.viber.outbound.ViberTransport"),
    "messenger": TransportSpec(
        "MESSENGER_PAGE_ACCESS_TOKEN", "botbridge.channels.messenger.outbound.MessengerTransport"
    ),
    # To residents' confirmed addresses, through Django's email backend (SMTP, or the console in development).
    EMAIL: TransportSpec(
        "EMAIL_CHANNEL", "botbridge.channels.email.outbound.EmailTransport", "email is off: EMAIL_HOST is not set"
    ),
}


def sent_channels() -> tuple[str, ...]:
    return tuple(TRANSPORTS)


def bot_channels() -> tuple[str, ...]:
    """The channels where a resident is a ChannelIdentity: every one but email."""
    return tuple(channel for channel in TRANSPORTS if channel != EMAIL)


def channel_is_on(channel: str) -> bool:
    spec = TRANSPORTS.get(channel)
    return spec is not None and bool(getattr(settings, spec.token_setting, ""))


def channels_on() -> list[str]:
    return [channel for channel in TRANSPORTS if channel_is_on(channel)]


def transport_make(channel: str) -> Transport:
    return import_string(TRANSPORTS[channel].factory)()
