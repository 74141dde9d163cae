"""The phone voice menu: one call, from the greeting to the goodbye, driven over FastAGI.

The AGI server runs `call(line)` in a thread of its own for each call; every method of the
`Line` is one AGI command (channels/phone/agi.py). What is asked next and what a refusal
leads to is decided here, and every write goes through the services the chat uses
(account_meter_prove_by_phone, actions.reading_from_phone). A caller who hangs up makes the
`Line` raise HungUp at its next command, which is always between two services, never inside
one: the call ends with nothing half-written, and the server ends it quietly.

Asterisk plays files: each step names its prompts (botbridge.phone_texts) and the menu never
builds text, so it needs no language of its own.
"""

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from django.conf import settings

from accounts.errors import AccountMeterMismatch, DomainError, TooManyAttempts
from accounts.linking import account_meter_prove_by_phone
from accounts.models import Meter
from accounts.numbers import MAX_SERIAL_LENGTH, account_number_normalize, phone_caller_key, serial_digits_of
from accounts.selectors import account_meters_active
from botbridge import actions
from botbridge import phone_texts as say
from readings.errors import ConfirmationRequired
from readings.models import Reading
from readings.periods import consumption_month
from readings.selectors import Outcome

if TYPE_CHECKING:  # the menu drives any Line; the channel's module is the server's business
    from botbridge.channels.phone.agi import Line

log = logging.getLogger(__name__)

# The channel variable the dialplan reads after the AGI returns: the extension to send the caller to.
TRANSFER_VARIABLE = "POKAZNYK_TRANSFER"
YES, AGAIN, ANOTHER = "1", "2", "1"
OPERATOR = "0"
REPEAT = "*"
# A meter is named by the last digits of its serial, unless two of the account's meters share them.
SERIAL_TAIL = 4
# Refusals of a reading that mean "type it again"; any other ends the reading with its reason.
RETYPE = {"reading_decrease"}


class ToOperator(Exception):
    """The caller pressed 0 (and an operator is configured)."""


class GaveUp(Exception):
    """Too many wrong answers at one step."""


class Ended(Exception):
    """The call is over: what ended it has been said and the line hung up."""


class Strikes:
    """Wrong or empty answers at one step: at IVR_MAX_TRIES the call cannot go on."""

    def __init__(self) -> None:
        self.count = 0

    def add(self) -> None:
        self.count += 1
        if self.count >= settings.IVR_MAX_TRIES:
            raise GaveUp()


def call(line: "Line") -> None:
    """The whole menu for one call on `line` (an agi.Line); HungUp goes up to the server."""
    menu = Menu(line)
    try:
        try:
            menu.run()
        except ToOperator:
            menu.transfer()
        except GaveUp:
            log.info("phone: %s could not get through the menu", menu.who)
            if not settings.IVR_OPERATOR_EXTENSION:
                menu.end("giving-up")
            menu.transfer()
    except Ended:
        pass


class Menu:
    def __init__(self, line: "Line") -> None:
        self.line = line
        self.caller = phone_caller_key(line.caller)
        # Logs name the caller by the end of their number: enough to follow a call, not a directory.
        self.who = "…" + self.caller[-4:]

    # --- The steps, in the order of the call ----------------------------------------------------

    def run(self) -> None:
        self.play("greeting")
        if settings.IVR_OPERATOR_EXTENSION:
            self.play("hint-operator")
        while True:
            meter = self.choose_meter(self.prove_meter())
            outcome = self.send_reading(meter)
            if outcome is not None:
                self.tell(outcome)
            if self.answer("ask-another", max_digits=1) != ANOTHER:
                self.end("goodbye")

    def prove_meter(self) -> Meter:
        """The account number and the serial's digits, until they prove a meter (as linking does)."""
        strikes = Strikes()
        while True:
            number = self.ask("ask-account", strikes, max_digits=settings.ACCOUNT_NUMBER_LENGTH[1] + 1)
            try:
                account_number_normalize(number)  # its shape, before the caller types the serial for nothing
            except DomainError as refusal:
                self.refused(refusal, strikes)
                continue
            serial = self.ask("ask-serial", strikes, max_digits=MAX_SERIAL_LENGTH)
            try:
                return account_meter_prove_by_phone(account_number=number, serial_digits=serial, caller=self.caller)
            except TooManyAttempts as refusal:
                log.warning("phone: %s refused: %s", self.who, refusal.code)
                self.end(say.refusal(refusal.code), "goodbye")
            except AccountMeterMismatch as refusal:
                self.play(say.refusal(refusal.code))
                self.attempts_left(refusal.params.get("attempts_left"))
                log.warning("phone: %s refused: %s", self.who, refusal.code)
                strikes.add()
            except DomainError as refusal:  # what the keypad cannot send today (a serial too long)
                self.refused(refusal, strikes)

    def choose_meter(self, proved: Meter) -> Meter:
        """One key per active meter of the account, when it has several; each named by its serial's tail."""
        meters = account_meters_active(account_id=proved.account_id)[:9]  # one key each: 1 to 9
        if len(meters) <= 1:
            return proved
        tails = [serial_digits_of(meter)[-SERIAL_TAIL:] for meter in meters]
        if len(set(tails)) < len(tails):
            tails = [serial_digits_of(meter) for meter in meters]
        listing = [
            part
            for key, tail in enumerate(tails, start=1)
            for part in ("meter-ending", *say.digits(tail), "press", f"digit-{key}")
        ]
        strikes = Strikes()
        key = self.ask("ask-meter", strikes, max_digits=1, before=listing, valid=lambda k: 1 <= int(k) <= len(meters))
        return meters[int(key) - 1]

    def send_reading(self, meter: Meter) -> Outcome | None:
        """The zones one by one, read back, confirmed; None when the service refused for good."""
        strikes = Strikes()
        while True:
            values = [
                int(self.ask(f"ask-zone-{zone}", strikes, max_digits=meter.digits)) for zone in say.ZONES[meter.zones]
            ]
            heard = ["you-entered", *say.values(meter.zones, values)]
            if self.ask("ask-confirm", strikes, max_digits=1, before=heard, valid={YES, AGAIN}.__contains__) == AGAIN:
                continue
            confirm = False
            while True:
                try:
                    return actions.reading_from_phone(meter=meter, values=values, caller=self.caller, confirm=confirm)
                except ConfirmationRequired as question:
                    why = [say.CONFIRMATIONS.get(question.reason, "refusal-other")]
                    answer = self.ask(
                        "ask-send-anyway", strikes, max_digits=1, before=why, valid={YES, AGAIN}.__contains__
                    )
                    if answer == AGAIN:
                        break
                    confirm = True
                except DomainError as refusal:
                    log.warning("phone: %s refused: %s", self.who, refusal.code)
                    self.play(say.refusal(refusal.code))
                    if refusal.code not in RETYPE:
                        return None
                    strikes.add()
                    break

    def tell(self, outcome: Outcome) -> None:
        reading = outcome.reading
        if reading.status == Reading.Status.CONTROL:
            self.play("control", *say.date(outcome.next_window.opens))
        elif reading.status == Reading.Status.NEEDS_REVIEW:
            self.play("needs-review-consumption", *say.month(consumption_month(reading.period)))
        else:
            self.play("accepted-consumption", *say.month(consumption_month(reading.period)))
        earlier = reading.replaces
        if earlier is not None:  # a resend in the window: the caller hears which reading it replaced
            self.play("replaces", *say.values(len(earlier.values), earlier.values), "replaces-receipt")
            self.play(*say.receipt(earlier.receipt))
        # Said twice: the caller is likely writing it down.
        self.play("receipt", *say.receipt(reading.receipt), "receipt-again", *say.receipt(reading.receipt))

    def attempts_left(self, left: int | None) -> None:
        # Said when it matters (fewer than ten left): a long budget read digit by digit only confuses.
        if left == 0:
            self.play("last-attempt")
        elif left is not None and left < 10:
            self.play("attempts-left", *say.digits(left))

    # --- Asking and saying ------------------------------------------------------------------------

    def ask(
        self,
        prompt: str,
        strikes: Strikes,
        *,
        max_digits: int,
        before: Sequence[str] = (),
        valid: Callable[[str], bool] = lambda _digits: True,
    ) -> str:
        """Digits that answer the question, asked again after a wrong or empty answer."""
        while True:
            typed = self.answer(prompt, max_digits=max_digits, before=before)
            if typed and typed.isascii() and typed.isdigit() and valid(typed):
                return typed
            self.play("no-input" if not typed else "invalid-input")
            strikes.add()

    def answer(self, prompt: str, *, max_digits: int, before: Sequence[str] = ()) -> str | None:
        """What the caller typed at the question (None: nothing); `*` repeats it, `0` is the operator."""
        while True:
            self.play(*before)
            typed = self.line.ask(self.sound(prompt), timeout_ms=settings.IVR_ANSWER_TIMEOUT_MS, max_digits=max_digits)
            if typed and REPEAT in typed:
                continue
            if typed != OPERATOR:
                return typed
            if settings.IVR_OPERATOR_EXTENSION:
                raise ToOperator()
            self.play("no-operator")

    def refused(self, refusal: DomainError, strikes: Strikes) -> None:
        log.warning("phone: %s refused: %s", self.who, refusal.code)
        self.play(say.refusal(refusal.code))
        strikes.add()

    def play(self, *prompts: str) -> None:
        for prompt in prompts:
            self.line.play(self.sound(prompt))

    def sound(self, prompt: str) -> str:
        return settings.IVR_SOUNDS_PREFIX + prompt

    def end(self, *prompts: str) -> None:
        """Say `prompts` and hang up: the call is over."""
        self.play(*prompts)
        self.line.hangup()
        raise Ended()

    def transfer(self) -> None:
        """Hand the caller to the operator: the dialplan goes on after the AGI with the variable set."""
        log.info("phone: %s goes to the operator", self.who)
        self.play("transfer")
        self.line.set_variable(TRANSFER_VARIABLE, settings.IVR_OPERATOR_EXTENSION)
