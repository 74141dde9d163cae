"""What a resident does, as every channel reports it to the engine."""

from dataclasses import dataclass, field

# The commands a channel may report; the engine knows what each one means.
COMMANDS = ("start", "help", "cancel", "accounts", "login", "add")


@dataclass(frozen=True)
class Text:
    """A typed text, or the label of a menu button the channel sends back as text."""

    text: str


@dataclass(frozen=True)
class Choice:
    """One of the options the engine offered (`Option.action`, `Option.argument`); a channel
    that cannot read what was pressed reports an empty action, which is answered as stale."""

    action: str
    argument: str = ""


@dataclass(frozen=True)
class Command:
    """One of `COMMANDS`, however the channel spells it (Telegram: /start)."""

    name: str


@dataclass(frozen=True)
class Unreadable:
    """Something that is not text: a sticker, voice, file, location, contact, a photo on a channel
    that does not fetch photos (Viber, Messenger); or an edit of an earlier message
    (`edited=True`), which is never read either."""

    edited: bool = False


@dataclass(frozen=True)
class Photo:
    """A picture sent as a photo or as an image file, fetched by the channel: `content` is the
    file as the platform stored it (checked and cleaned by the service, never by the channel),
    `caption` the text sent with it. `content` None: the channel did not fetch it, because the
    platform says it is larger than the service takes (`too_big`) or fetching it failed."""

    content: bytes | None = field(repr=False)
    caption: str = ""
    too_big: bool = False


@dataclass(frozen=True)
class NotPrivate:
    """A message in a group or a channel: the conversation is held in private chats only."""


Event = Text | Choice | Command | Photo | Unreadable | NotPrivate
