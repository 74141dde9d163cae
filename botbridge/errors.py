"""Refusals of the bot's own services, in the one error vocabulary."""

from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError


class AnnouncementEmpty(DomainError):
    code = "announcement_empty"
    template = _("The announcement is empty. Write the text bot users should read.")


class AnnouncementTooLong(DomainError):
    code = "announcement_too_long"
    template = _("The announcement has {length} characters; Telegram takes at most {limit}. Shorten it.")
