from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class User(AbstractUser):
    """A portal user: a resident (web, API, Telegram) or a member of staff."""

    # When the resident opened the link that confirms `email`; None: not confirmed, or no address.
    # Reminders and notices go by email only to a confirmed address.
    email_verified_at = models.DateTimeField(_("email confirmed"), null=True, blank=True)
    # When the last confirmation link went out: the next one may go a minute later.
    email_confirmation_sent_at = models.DateTimeField(_("confirmation link sent"), null=True, blank=True)
    email_reminders_enabled = models.BooleanField(_("reminders by email"), default=True)
    # The cabinet's language the resident last chose ("uk", "en"); their emails are written in it.
    # Blank: Ukrainian.
    language = models.CharField(_("language"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class PersonalAccount(models.Model):
    """Особовий рахунок: the household's contract number with the company."""

    number = models.CharField(_("account number"), max_length=20, unique=True)
    eic = models.CharField(_("EIC code"), max_length=16, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    holder_name = models.CharField(_("holder name"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    history = HistoricalRecords()  # the audit trail: who changed what, when

    class Meta:
        verbose_name = _("personal account")
        verbose_name_plural = _("personal accounts")
        ordering = ["number"]
        permissions = [("import_master_data", _("Can import accounts and meters from the billing CSV"))]
        constraints = [
            models.CheckConstraint(condition=Q(number__regex=r"^[0-9]+$"), name="account_number_digits"),
            models.CheckConstraint(condition=Q(eic="") | Q(eic__regex=r"^[0-9A-Z-]{16}$"), name="account_eic_shape"),
        ]
        indexes = [models.Index(fields=["eic"], name="account_eic_idx")]

    def __str__(self) -> str:
        return self.number


class Meter(models.Model):
    """A physical meter at an account. A replaced meter stays, inactive, with its readings."""

    account = models.ForeignKey(
        PersonalAccount, on_delete=models.PROTECT, related_name="meters", verbose_name=_("personal account")
    )
    serial = models.CharField(_("serial number"), max_length=32)
    zones = models.PositiveSmallIntegerField(_("zones"), choices=[(1, "1"), (2, "2"), (3, "3")])
    digits = models.PositiveSmallIntegerField(_("digits"))
    # The starting point of the consumption chain: the reading at installation or import.
    initial_values = models.JSONField(_("initial reading"), default=list, blank=True)
    installed_on = models.DateField(_("installed"), null=True, blank=True)
    removed_on = models.DateField(_("removed"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()  # the audit trail: who changed what, when

    class Meta:
        verbose_name = _("meter")
        verbose_name_plural = _("meters")
        ordering = ["account", "-is_active", "serial"]
        constraints = [
            models.UniqueConstraint(fields=["account", "serial"], name="meter_unique_serial_per_account"),
            models.CheckConstraint(condition=Q(zones__gte=1, zones__lte=3), name="meter_zones_1_3"),
            models.CheckConstraint(condition=Q(digits__gte=4, digits__lte=8), name="meter_digits_4_8"),
            models.CheckConstraint(
                condition=Q(removed_on__isnull=True)
                | Q(installed_on__isnull=True)
                | Q(removed_on__gte=models.F("installed_on")),
                name="meter_removed_after_installed",
            ),
            models.CheckConstraint(
                condition=~Q(is_active=True, removed_on__isnull=False), name="meter_removed_is_inactive"
            ),
        ]
        indexes = [models.Index(fields=["serial"], name="meter_serial_idx")]

    def __str__(self) -> str:
        return self.serial

    @property
    def capacity(self) -> int:
        """The first value the display cannot show: a 5-digit meter rolls over at 100000."""
        return 10**self.digits


class AccountLink(models.Model):
    """A user's proven link to an account (account number + serial of its active meter)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="account_links", verbose_name=_("user"))
    account = models.ForeignKey(
        PersonalAccount, on_delete=models.CASCADE, related_name="links", verbose_name=_("personal account")
    )
    created_at = models.DateTimeField(_("linked"), auto_now_add=True)
    reminders_enabled = models.BooleanField(_("reminders"), default=True)
    history = HistoricalRecords()  # the audit trail: who changed what, when

    class Meta:
        verbose_name = _("account link")
        verbose_name_plural = _("account links")
        constraints = [models.UniqueConstraint(fields=["user", "account"], name="link_unique_user_account")]

    def __str__(self) -> str:
        return f"{self.user} → {self.account}"


class LinkAttempt(models.Model):
    """A failed attempt to prove an account, kept to rate-limit guessing of account numbers.

    Every attempt counts against the user (when signed in), the client's network (when
    the channel has one: the cabinet, the quick form, the API), the caller's number (the
    phone menu) and the account number typed, whether or not such an account exists.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+", null=True, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    # What the per-address limit counts: the IPv4 address, or the /64 an IPv6 address is in
    # (one machine usually holds a whole /64, so its single addresses are no limit at all).
    network = models.CharField(_("network"), max_length=64, blank=True)
    # The phone menu's caller as the exchange reported them (digits, "unknown" when hidden).
    caller = models.CharField(_("caller's number"), max_length=64, blank=True)
    account_number = models.CharField(max_length=64)
    attempted_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("failed link attempt")
        verbose_name_plural = _("failed link attempts")
        indexes = [
            models.Index(fields=["user", "attempted_at"], name="link_attempt_user_time_idx"),
            models.Index(fields=["network", "attempted_at"], name="link_attempt_network_time_idx"),
            models.Index(fields=["account_number", "attempted_at"], name="link_attempt_number_time_idx"),
            models.Index(fields=["caller", "attempted_at"], name="link_attempt_caller_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False) | ~Q(network="") | ~Q(caller=""), name="link_attempt_has_someone"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user or self.ip_address or self.caller} {self.account_number} {self.attempted_at:%Y-%m-%d %H:%M}"


class ChannelIdentity(models.Model):
    """A person's account on a messaging channel, mapped to their one portal user.

    (channel, external_id) names the person on that channel: Telegram's user id as a
    string, later Viber's or Messenger's ids. A portal user has at most one identity per
    channel; what the bot links, the cabinet and the API show go through it.
    """

    class Channel(models.TextChoices):
        TELEGRAM = "telegram", _("Telegram")
        VIBER = "viber", _("Viber")
        MESSENGER = "messenger", _("Messenger")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="channel_identities", verbose_name=_("user"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    external_id = models.CharField(_("id on the channel"), max_length=64)
    display_name = models.CharField(_("first name"), max_length=128, blank=True)
    username = models.CharField(_("username"), max_length=64, blank=True)
    language_code = models.CharField(_("language"), max_length=16, blank=True)
    # Set when the user blocks the bot: nothing is sent to them until they come back.
    blocked_at = models.DateTimeField(_("blocked the bot"), null=True, blank=True)
    # When the person last wrote to the bot (to the minute): Messenger lets a page answer freely
    # only within 24 hours of it.
    messaged_at = models.DateTimeField(_("last wrote"), null=True, blank=True)
    # The resident's switch for window reminders on this channel (the cabinet's "Where reminders go").
    reminders_enabled = models.BooleanField(_("reminders"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("channel identity")
        verbose_name_plural = _("channel identities")
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="channel_identity_one_user"),
            models.UniqueConstraint(fields=["user", "channel"], name="channel_identity_one_per_channel"),
            models.CheckConstraint(
                condition=Q(channel__in=["telegram", "viber", "messenger"]), name="channel_identity_channel_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel}: @{self.username}" if self.username else f"{self.channel}: {self.external_id}"


class SignInLink(models.Model):
    """A one-time link into the web cabinet, asked for in the bot.

    The URL carries the nonce signed with a timestamp (the signature and its age are
    checked first); the row is what makes the link usable once.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in link")
        verbose_name_plural = _("sign-in links")

    def __str__(self) -> str:
        return f"{self.user} {self.created_at:%Y-%m-%d %H:%M}"


class TelegramLoginUse(models.Model):
    """A Telegram Login Widget answer that signed someone in: each one signs in once.

    The answer is the query of a URL, so it stays in the browser's history and in access
    logs; without this row it would sign in again until it is TELEGRAM_LOGIN_MAX_AGE_SECONDS
    old. The unique hash makes the database refuse a second use, even two at once.
    """

    hash = models.CharField(max_length=64, unique=True)
    # Telegram's auth_date: past the maximum age the answer is refused anyway, and the row goes.
    signed_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("used Telegram sign-in")
        verbose_name_plural = _("used Telegram sign-ins")

    def __str__(self) -> str:
        return f"{self.hash[:12]}… {self.used_at:%Y-%m-%d %H:%M}"


class MasterDataUpload(models.Model):
    """A master-data CSV uploaded in admin: checked at once, imported only when staff confirm.

    The file is kept in the database, not on a web server's disk, so the confirmation
    can reach any process.
    """

    uploaded_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    file_name = models.CharField(_("file"), max_length=255)
    content = models.BinaryField()
    good_rows = models.PositiveIntegerField(_("good rows"), default=0)
    bad_rows = models.PositiveIntegerField(_("bad rows"), default=0)
    # The first bad rows, [[line, [reasons…]], …], for the preview.
    problems = models.JSONField(default=list, blank=True)
    imported_at = models.DateTimeField(_("imported"), null=True, blank=True)
    imported_rows = models.PositiveIntegerField(_("imported rows"), default=0)

    class Meta:
        verbose_name = _("master data upload")
        verbose_name_plural = _("master data uploads")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        # Kyiv time, as every date in admin: the stored time is UTC.
        return f"{self.file_name} {timezone.localtime(self.uploaded_at):%d.%m.%Y %H:%M}"
