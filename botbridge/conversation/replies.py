"""What the engine answers, in a form no messenger owns; each channel renders it its own way."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """A choice offered with a message; chosen, it comes back as `Choice(action, argument)`."""

    label: str
    action: str
    argument: str = ""


@dataclass(frozen=True)
class Choices:
    """Options that belong to one message, in rows (a channel may lay them out in one column)."""

    rows: tuple[tuple[Option, ...], ...]


@dataclass(frozen=True)
class Menu:
    """Labels kept at hand under the input until another menu replaces them; chosen, a label
    comes back as `Text(label)`. `lasting`: offered for good, not just for the next answer."""

    rows: tuple[tuple[str, ...], ...]
    lasting: bool = False


@dataclass(frozen=True)
class Reply:
    """A message to the resident.

    `replaces`: it takes the place of the message whose option was chosen (a channel that
    cannot edit sends it anew). `text=None` with `replaces`: only that message's options
    change (to `options`, or to none). `secret`: the text holds a link meant for the
    resident alone, so no channel may fetch it to draw a preview.

    `standing`, on a message that offers nothing itself: the menu in effect at the step the
    conversation is at after it. Telegram keeps the last menu under the input and needs no
    reminder; a channel whose keyboard goes with every message that carries none (Viber)
    sends this one with it.
    """

    text: str | None
    options: Choices | Menu | None = None
    replaces: bool = False
    secret: bool = False
    standing: Menu | None = None


@dataclass(frozen=True)
class Notice:
    """The short answer to a chosen option itself (Telegram: the answer to a button press).
    `alert`: the resident must read it before going on (a button that no longer works)."""

    text: str = ""
    alert: bool = False


Answer = Reply | Notice
__all__ = ["Answer", "Choices", "Menu", "Notice", "Option", "Reply"]
