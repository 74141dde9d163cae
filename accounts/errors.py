"""The one error vocabulary: every refusal of a service is a DomainError.

Each error has a stable `code` (what an API client or a test matches on) and a
translatable message (what a resident reads, the same in the bot, the cabinet and
the API). Messages say what is wrong and what to send instead. Its `http_status`
and `http_headers` are what the API and the cabinet's pages answer it with: decided
here, once, for both.
"""

from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


class DomainError(Exception):
    code = "domain_error"
    template = _("The request could not be completed.")
    http_status = 400

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(self.code)

    @property
    def message(self) -> str:
        """The message in the active language, with its parameters filled in."""
        return str(self.template).format(**self.params)

    @property
    def http_headers(self) -> dict[str, str]:
        """A refusal that says when to come back says it to programs too (Retry-After, in seconds)."""
        if "retry_after" in self.params:
            return {"Retry-After": str(self.params["retry_after"])}
        return {}

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


class AccountMeterMismatch(DomainError):
    """The account number and the meter serial do not prove an active meter.

    One answer whether the account does not exist or the serial is wrong: two answers
    would tell a guesser which account numbers exist. The resident reads both numbers
    they typed and where each one is printed, and how many tries they have left.
    """

    code = "account_meter_mismatch"
    template = _(
        "Account {number} with meter {serial} was not found. Check both numbers: the account number is on "
        "your electricity bill, the meter serial (the factory number) is printed on the meter itself."
    )

    @property
    def message(self) -> str:
        left = self.params.get("attempts_left")
        if left is None:
            return super().message
        if left == 0:
            last = _("That was the last attempt for now: you can try again in {minutes} min.")
            return f"{super().message} {str(last).format(minutes=self.params['minutes'])}"
        more = ngettext("{count} more attempt before a pause.", "{count} more attempts before a pause.", left)
        return f"{super().message} {more.format(count=left)}"


class AlreadyLinked(DomainError):
    code = "already_linked"
    http_status = 409
    template = _("Account {number} is already in your list.")


class NotLinked(DomainError):
    code = "not_linked"
    http_status = 404
    template = _("Account {number} is not in your list.")


class MeterNotLinked(DomainError):
    code = "meter_not_linked"
    http_status = 404
    template = _("This meter is not among your accounts' active meters. Open your accounts and choose again.")


class MeterRequired(DomainError):
    code = "meter_required"
    template = _("Account {number} has several meters: say which one, by its serial ({serials}).")


class EmailTaken(DomainError):
    code = "email_taken"
    template = _("There is already an account with {email}. Sign in, or reset the password if you forgot it.")


class EmailInvalid(DomainError):
    code = "email_invalid"
    template = _("“{email}” is not an email address. Enter it like name@example.com.")


class TooManyAttempts(DomainError):
    code = "too_many_attempts"
    http_status = 429
    template = _(
        "Too many unsuccessful attempts to add an account. Try again in {minutes} min, "
        "or call the company's contact centre."
    )


class TelegramLoginUnavailable(DomainError):
    code = "telegram_login_unavailable"
    template = _("Signing in with Telegram is not available at the moment. Try again later or call the contact centre.")


class TelegramLoginIncomplete(DomainError):
    code = "telegram_login_incomplete"
    template = _(
        "The answer from Telegram is incomplete or damaged. "
        "Go back to the sign-in page and sign in with Telegram again."
    )


class TelegramLoginStale(DomainError):
    code = "telegram_login_stale"
    template = _(
        "The confirmation from Telegram is out of date. Go back to the sign-in page and sign in with Telegram again."
    )


class TelegramLoginForged(DomainError):
    code = "telegram_login_forged"
    template = _(
        "This sign-in confirmation did not come from Telegram. Open the portal's sign-in page yourself "
        "and sign in with Telegram there."
    )


class SignInLinkInvalid(DomainError):
    code = "signin_link_invalid"
    template = _("This sign-in link is not valid. Send /login to the bot in Telegram for a new one.")


class SignInLinkExpired(DomainError):
    code = "signin_link_expired"
    template = _("This sign-in link has expired. Send /login to the bot in Telegram for a new one.")


class SignInLinkUsed(DomainError):
    code = "signin_link_used"
    template = _("This sign-in link has already been used. Send /login to the bot in Telegram for a new one.")


class SignInLinkUnavailable(DomainError):
    code = "signin_link_unavailable"
    template = _("The web cabinet is not available yet. Keep sending readings here in the bot.")


class UploadUnreadable(DomainError):
    code = "upload_unreadable"
    template = _("The file cannot be imported: {reason}")


class UploadTooLarge(DomainError):
    code = "upload_too_large"
    template = _(
        "The file is {size} MB; admin takes files up to {limit} MB. Import a larger file with the "
        "import_accounts command."
    )


class UploadAlreadyImported(DomainError):
    code = "upload_already_imported"
    template = _("This file was imported already, on {when}. Upload it again to import it again.")


class UploadHasBadRows(DomainError):
    code = "upload_has_bad_rows"
    template = _("The file has {count} bad row(s). Fix them and upload the file again, or import only the good rows.")


class SignInLocked(DomainError):
    code = "too_many_signin_attempts"
    http_status = 429
    template = _(
        "Too many unsuccessful sign-in attempts. Try again after {time} (in {minutes} min), "
        "or reset the password if you forgot it."
    )


class SignUpThrottled(DomainError):
    code = "too_many_signups"
    http_status = 429
    template = _("Too many sign-ups from your network. Try again in {minutes} min.")


class TelegramLoginUsed(DomainError):
    code = "telegram_login_used"
    template = _(
        "This confirmation from Telegram has already been used. "
        "Go back to the sign-in page and sign in with Telegram again."
    )


# --- Email addresses: confirming them for reminders and notices -------------------------------


class EmailConfirmInvalid(DomainError):
    code = "email_confirm_invalid"
    template = _(
        "This confirmation link is not valid: it may be cut short. Open the link from the email again, "
        "or sign in and press “Send the link again” in Settings."
    )


class EmailConfirmExpired(DomainError):
    code = "email_confirm_expired"
    template = _(
        "This confirmation link has expired: a link works for {days} days. Sign in and press "
        "“Send the link again” in Settings for a new one."
    )


class EmailConfirmStale(DomainError):
    """The link confirms an address the account no longer has: the holder of the old mailbox is
    not told the new address."""

    code = "email_confirm_stale"
    template = _(
        "This link confirms an address that is no longer on the account. Open the link in the latest "
        "email we sent, or sign in and ask for a new one in Settings."
    )


class EmailConfirmTooSoon(DomainError):
    code = "email_confirm_too_soon"
    template = _(
        "We sent a link to {email} less than a minute ago. Check the inbox and the spam folder; "
        "you can ask for another link in {seconds} s."
    )


class EmailMissing(DomainError):
    code = "email_missing"
    template = _("There is no email address on your account. Add one in Settings.")


class EmailUnavailable(DomainError):
    code = "email_unavailable"
    template = _("The cabinet cannot send emails yet. Use our bot for reminders, or call the contact centre.")


class EmailNotSent(DomainError):
    code = "email_not_sent"
    template = _(
        "We could not send the email to {email} just now. Try again in a few minutes with "
        "“Send the link again” in Settings."
    )


class EmailInUse(DomainError):
    code = "email_in_use"
    template = _("{email} belongs to another account in the cabinet. Enter another address.")


class EmailPasswordWrong(DomainError):
    code = "email_password_wrong"
    template = _(
        "The password is not right. You sign in with your email address, so changing it needs your current password."
    )


class ReminderChannelUnknown(DomainError):
    code = "reminder_channel_unknown"
    template = _(
        "That channel is not connected to your account, so reminders cannot go there. Reload the Settings page."
    )
