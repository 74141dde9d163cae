from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.db import models
from django.db.models import Q
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Meter
from readings.labels import values_text
from readings.receipts import receipt_display, receipt_new


class Reading(models.Model):
    """One submission of a meter's display, kept whatever became of it."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        SUPERSEDED = "superseded", _("superseded")
        CONTROL = "control", _("control reading outside the window")
        NEEDS_REVIEW = "needs_review", _("needs review")
        REJECTED = "rejected", _("rejected")

    class Channel(models.TextChoices):
        TELEGRAM = "telegram", _("Telegram")
        VIBER = "viber", _("Viber")
        MESSENGER = "messenger", _("Messenger")
        WEB = "web", _("web cabinet")
        QUICK = "quick", _("quick form")
        API = "api", _("API")
        PHONE = "phone", _("phone")
        STAFF = "staff", _("staff")
        IMPORT = "import", _("import")

    class Reason(models.TextChoices):
        """Why a reading was held for review."""

        NONE = "", _("none")
        ROLLOVER = "rollover", _("meter rollover")
        UNUSUAL_JUMP = "unusual_jump", _("unusual consumption")
        STAFF = "staff", _("flagged by staff")

    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="readings", verbose_name=_("meter"))
    period = models.DateField(_("period"), help_text=_("The 1st of the month the reading counts for."))
    value1 = models.PositiveIntegerField(_("T1 / total"))
    value2 = models.PositiveIntegerField(_("T2"), null=True, blank=True)
    value3 = models.PositiveIntegerField(_("T3"), null=True, blank=True)
    consumption1 = models.IntegerField(_("consumption T1"), null=True, blank=True)
    consumption2 = models.IntegerField(_("consumption T2"), null=True, blank=True)
    consumption3 = models.IntegerField(_("consumption T3"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    review_reason = models.CharField(_("review reason"), max_length=16, choices=Reason.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="readings",
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted"), db_index=True)
    # Who on the channel sent it, where the channel has such a key (Telegram's user id, say):
    # where a notice about the reading goes.
    channel_user_key = models.CharField(_("user on the channel"), max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reviewed by"),
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    review_note = models.CharField(_("review note"), max_length=300, blank=True)
    # What the resident quotes to the contact centre (readings.receipts). reading_submit picks one
    # no other reading has; the default covers rows made elsewhere (imports, fixtures).
    receipt = models.CharField(_("receipt"), max_length=8, unique=True, default=receipt_new, editable=False)
    # The reading of the same window this one superseded, so both can say which is which.
    replaces = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaced_by",
        verbose_name=_("replaces"),
    )
    history = HistoricalRecords()  # the audit trail: who changed what, when

    class Meta:
        verbose_name = _("reading")
        verbose_name_plural = _("readings")
        ordering = ["-period", "-submitted_at"]
        permissions = [
            ("review_reading", _("Can approve or reject readings held for review")),
            ("export_readings", _("Can export a period's readings for billing")),
        ]
        constraints = [
            # The period's reading: one per meter and period, accepted or held for review.
            models.UniqueConstraint(
                fields=["meter", "period"],
                condition=Q(status__in=["accepted", "needs_review"]),
                name="reading_one_standing_per_meter_period",
            ),
            models.CheckConstraint(condition=Q(period__day=1), name="reading_period_first_of_month"),
            models.CheckConstraint(
                condition=Q(value3__isnull=True) | Q(value2__isnull=False), name="reading_zones_in_order"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["accepted", "superseded", "control", "needs_review", "rejected"]),
                name="reading_status_known",
            ),
            models.CheckConstraint(
                condition=Q(
                    channel__in=["telegram", "viber", "messenger", "web", "quick", "api", "phone", "staff", "import"]
                ),
                name="reading_channel_known",
            ),
        ]
        indexes = [models.Index(fields=["meter", "status", "-period"], name="reading_meter_status_period")]

    def __str__(self) -> str:
        return f"{self.meter} {self.period:%Y-%m}: {'/'.join(map(str, self.values))}"

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(v for v in (self.value1, self.value2, self.value3) if v is not None)

    @property
    def values_text(self) -> str:
        return values_text(self.values)

    @property
    def receipt_display(self) -> str:
        return receipt_display(self.receipt)

    @property
    def consumption(self) -> tuple[int, ...] | None:
        if self.consumption1 is None:
            return None
        return tuple(c for c in (self.consumption1, self.consumption2, self.consumption3) if c is not None)


class CalendarOverride(models.Model):
    """A date staff force to be a working or a non-working day."""

    date = models.DateField(_("date"), unique=True)
    is_working = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    # The audit trail: who changed the calendar and when (calendar_override_save and _delete).
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("calendar override")
        verbose_name_plural = _("calendar overrides")
        ordering = ["date"]

    def __str__(self) -> str:
        # Admin's messages name the override by this ("… added successfully"): in the staff's language.
        kind = _("working day") if self.is_working else _("day off")
        return f"{self.date:%d.%m.%Y} ({kind})"


class CalendarVersion(models.Model):
    """One row whose `stamp` changes with every change of the calendar overrides, by any path
    (services, admin, bulk writes, TRUNCATE): database triggers set it (migration 0016). Windows
    are remembered per (day, stamp), so a change made in one process is seen by all at once.
    No row (a test's flush): nothing is remembered."""

    stamp = models.CharField(max_length=36)

    def __str__(self) -> str:
        return self.stamp


class IdempotencyKey(models.Model):
    """The first successful answer to a POST sent with an Idempotency-Key, to repeat on retries."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=0)  # 0 while the first request is being handled
    body = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class ReadingForReview(Reading):
    """The review queue in admin: readings held for a member of staff to approve or reject."""

    class Meta:
        proxy = True
        verbose_name = _("reading to review")
        verbose_name_plural = _("review queue")


class PhotoStorage(LazyObject):
    """Where meter photos are kept: the "photos" storage of settings.STORAGES (local media or an
    S3-compatible bucket), looked up when first used, like Django's own default_storage."""

    def _setup(self) -> None:
        self._wrapped = storages["photos"]


photos_storage = PhotoStorage()


@receiver(setting_changed)
def _photos_storage_changed(*, setting: str, **kwargs) -> None:
    # What Django does for default_storage when STORAGES changes (tests override it).
    if setting in ("STORAGES", "MEDIA_ROOT"):
        photos_storage._wrapped = empty


def photo_storage() -> PhotoStorage:
    return photos_storage


class ReadingPhoto(models.Model):
    """A photo of the meter sent as evidence for a reading; served only through a view that
    checks who asks (`file` names are random and the storage is never public)."""

    reading = models.ForeignKey(Reading, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("file"), storage=photo_storage, max_length=200)
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    size = models.PositiveIntegerField(_("size, bytes"))
    channel = models.CharField(_("channel"), max_length=16, choices=Reading.Channel.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("sent"), db_index=True)

    class Meta:
        verbose_name = _("meter photo")
        verbose_name_plural = _("meter photos")
        ordering = ["uploaded_at"]

    def __str__(self) -> str:
        return f"{self.reading} photo {self.pk}"


class ExportBatch(models.Model):
    """One run of the billing export: who took which period's readings, when, in which format."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX (Excel)"

    period = models.DateField(_("period"))
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    new_only = models.BooleanField(
        _("only what is new"), help_text=_("Only readings billing has not had yet, or not with their current status.")
    )
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("exported by"),
    )
    started_at = models.DateTimeField(_("started"), db_index=True)
    # When the last row was handed to the web server; empty while the download runs, and for
    # good when it broke off: such a batch does not count as passed to billing.
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    readings_count = models.PositiveIntegerField(_("readings"))

    class Meta:
        verbose_name = _("export batch")
        verbose_name_plural = _("export batches")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(period__day=1), name="export_batch_period_first_of_month"),
            models.CheckConstraint(condition=Q(format__in=["csv", "xlsx"]), name="export_batch_format_known"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.period:%Y-%m} {self.format}"


class ExportedReading(models.Model):
    """A reading as a batch exported it: the status is the one billing was given."""

    pk = models.CompositePrimaryKey("batch", "reading")  # the batch's rows in reading order, the only index
    # No index of their own, nor one leading with the reading: every index is one more entry to write
    # per exported reading, and one by reading made recording a million-row batch twice as slow. A
    # reading's batches are found through the batches of its period (a few) and this key instead.
    # No foreign key constraints either: checking them locks every exported reading's row
    # (FOR KEY SHARE), which doubled a million-row export's time. The rows are only written by
    # export_batch_record's INSERT … SELECT from the readings themselves, readings are never
    # deleted (PROTECT) and a batch's rows go with it (CASCADE, done by Django).
    batch = models.ForeignKey(
        ExportBatch, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    reading = models.ForeignKey(
        Reading, on_delete=models.PROTECT, related_name="exports", db_index=False, db_constraint=False
    )
    status = models.CharField(max_length=16)

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.reading_id}"
