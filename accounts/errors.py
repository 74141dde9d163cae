"""The one error vocabulary: every refusal of a service is a DomainError.

Each error has a stable `code` (what an API client or a test matches on) and a
translatable message (what a resident reads, the same in the bot, the cabinet and
the API). Messages say what is wrong and what to send instead.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "domain_error"
    template = _("The request could not be completed.")

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.code)

    @property
    def message(self) -> str:
        """The message in the active language, with its parameters filled in."""
        return str(self.template).format(**self.params)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class AccountNumberInvalid(DomainError):
    code = "account_number_invalid"
    template = _(
        "An account number is {min_length} to {max_length} digits, without spaces or letters. Copy it from your bill."
    )


class MeterSerialInvalid(DomainError):
    code = "meter_serial_invalid"
    template = _(
        "A meter serial is 1 to 32 letters and digits. Copy it from the meter's front plate (the factory number)."
    )


class AccountNotFound(DomainError):
    code = "account_not_found"
    template = _("There is no active account {number}. Check the number on your bill and try again.")


class MeterMismatch(DomainError):
    code = "meter_mismatch"
    template = _(
        "Meter {serial} is not an active meter of account {number}. "
        "Check the serial printed on the meter and try again."
    )


class AlreadyLinked(DomainError):
    code = "already_linked"
    template = _("Account {number} is already in your list.")


class NotLinked(DomainError):
    code = "not_linked"
    template = _("Account {number} is not in your list.")


class MeterNotLinked(DomainError):
    code = "meter_not_linked"
    template = _("This meter is not among your accounts' active meters. Open your accounts and choose again.")


class MeterRequired(DomainError):
    code = "meter_required"
    template = _("Account {number} has several meters: say which one, by its serial ({serials}).")


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    template = _(
        "Too many unsuccessful attempts to add an account. Try again in {minutes} min, "
        "or call the company's contact centre."
    )
