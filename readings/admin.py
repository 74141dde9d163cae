from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, Subquery
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from accounts.errors import DomainError
from portal.admin import DateDrilldownAdmin, ReadOnlyAdmin
from readings import export, selectors
from readings.labels import values_text
from readings.models import CalendarOverride, ExportBatch, Reading, ReadingForReview
from readings.receipts import receipt_normalize
from readings.services import reading_approve, reading_flag, reading_reject
from readings.window import add_months, check_in_range


class BillingFilter(admin.SimpleListFilter):
    """Whether a completed export batch has given the reading to billing (with the period
    filter: what of a period billing has not had yet)."""

    title = _("passed to billing")
    parameter_name = "billing"

    def lookups(self, request, model_admin):
        return [("yes", _("yes")), ("no", _("not yet"))]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return selectors.readings_not_exported(queryset)
        if self.value() == "yes":
            return queryset.filter(exported_at__isnull=False)
        return queryset


class ExportBatchFilter(admin.SimpleListFilter):
    """The readings one export batch gave (the batch list links here)."""

    title = _("export batch")
    parameter_name = "batch"

    def lookups(self, request, model_admin):
        return [(batch.pk, str(batch)) for batch in ExportBatch.objects.all()[:10]]

    def queryset(self, request, queryset):
        return queryset.filter(exports__batch=self.value()) if self.value() else queryset


class ReceiptSearch:
    """The search box also finds a reading by its receipt, typed as a resident reads it out
    ("4829-1307", "4829 1307", "№48291307"), which the plain search would split into words."""

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        code = receipt_normalize(search_term)
        if code is None:
            return found, may_have_duplicates
        return queryset.filter(Q(receipt=code) | Q(pk__in=found.values("pk"))), may_have_duplicates


@admin.register(Reading)
class ReadingAdmin(ReceiptSearch, SimpleHistoryAdmin, DateDrilldownAdmin, ReadOnlyAdmin):
    """Read-only for now: readings change only through the services (the staff issue adds actions)."""

    list_display = (
        "receipt_display",
        "meter",
        "account_number",
        "period",
        "values_display",
        "status",
        "channel",
        "submitted_at",
        "exported_display",
    )
    list_filter = ("status", "channel", "period", "meter__zones", BillingFilter, ExportBatchFilter)
    search_fields = ("=meter__serial", "=meter__account__number", "=meter__account__eic", "=channel_user_key")
    search_help_text = _("Account number, meter serial, EIC, a chat's user id, or a receipt (4829-1307).")
    readonly_fields = ("receipt",)
    list_select_related = ("meter__account", "submitted_by")
    date_hierarchy = "period"

    actions = ["flag_selected"]
    change_list_template = "admin/readings/reading/change_list.html"

    def get_queryset(self, request):
        return selectors.readings_with_export(super().get_queryset(request))

    def get_urls(self):
        export = path("export/", self.admin_site.admin_view(self.export_view), name="readings_reading_export")
        dashboard = path(
            "dashboard/", self.admin_site.admin_view(self.dashboard_view), name="readings_reading_dashboard"
        )
        return [export, dashboard, *super().get_urls()]

    def dashboard_view(self, request):
        """The current window (or ?period=YYYY-MM-01) filling up: per day and channel, the share
        of active accounts with a reading, control readings and pending reviews."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PeriodForm(request.GET or None)
        period = form.cleaned_data["period"] if form.is_valid() else selectors.window_on(timezone.localdate()).period
        stats = selectors.window_stats(period=period)
        peak = max((sum(counts.values()) for _day, counts in stats.days), default=0) or 1
        channels = dict(Reading.Channel.choices)
        colours = dict(zip(stats.channels, CHANNEL_COLOURS, strict=False))
        rows = [
            {
                "day": day,
                "counts": [counts.get(channel, 0) for channel in stats.channels],
                "total": sum(counts.values()),
                # The day's bar, one segment per channel, as wide as its share of the busiest day.
                "segments": [
                    (colours[channel], round(100 * counts[channel] / peak, 1), channels[channel])
                    for channel in stats.channels
                    if counts.get(channel)
                ],
            }
            for day, counts in stats.days
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("Readings window"),
            "opts": self.model._meta,
            "stats": stats,
            "rows": rows,
            "channel_names": [(channels[channel], colours[channel]) for channel in stats.channels],
            "previous": add_months(period, -1),
            "next": add_months(period, 1),
            "form": form,
        }
        # A period refused (not a 1st, out of range) is said above the current window's figures.
        status = 400 if form.is_bound and not form.is_valid() else 200
        return TemplateResponse(request, "admin/readings/dashboard.html", context, status=status)

    def export_view(self, request):
        """The period's readings for billing, by the same code as the API's export."""
        if not request.user.has_perm("readings.export_readings"):
            raise PermissionDenied
        form = ExportForm(request.GET or None)
        if form.is_valid():
            data = form.cleaned_data
            return export.period_response(
                request, data["period"], data["format"], exported_by=request.user, new_only=data["new_only"]
            )
        context = {
            **self.admin_site.each_context(request),
            "title": _("Export for billing"),
            "form": form,
            "opts": self.model._meta,
            "batches": ExportBatch.objects.select_related("exported_by")[:10],
            "waiting": selectors.periods_not_exported(),
        }
        return TemplateResponse(request, "admin/readings/export.html", context)

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("readings.review_reading")

    @admin.action(description=_("Hold the selected readings for review"), permissions=["review"])
    def flag_selected(self, request, queryset) -> None:
        held = decide_each(self, request, queryset, lambda pk: reading_flag(reading_id=pk, flagged_by=request.user))
        self.message_user(request, _("Held for review: %(count)d.") % {"count": held}, messages.SUCCESS)

    @admin.display(description=_("account"), ordering="meter__account__number")
    def account_number(self, reading: Reading) -> str:
        return reading.meter.account.number

    @admin.display(description=_("values"))
    def values_display(self, reading: Reading) -> str:
        return "/".join(map(str, reading.values))

    @admin.display(description=_("receipt"), ordering="receipt")
    def receipt_display(self, reading: Reading) -> str:
        return reading.receipt_display

    @admin.display(description=_("passed to billing"), ordering="exported_at")
    def exported_display(self, reading: Reading):
        return timezone.localtime(reading.exported_at).strftime("%d.%m.%Y %H:%M") if reading.exported_at else "—"


@admin.register(ExportBatch)
class ExportBatchAdmin(ReadOnlyAdmin):
    """Each run of the billing export: who, when, which period, how many readings (a link to them)."""

    list_display = (
        "pk",
        "started_at",
        "period",
        "format",
        "new_only",
        "exported_by",
        "readings_link",
        "completed_at",
    )
    list_filter = ("period", "format", "new_only")
    list_select_related = ("exported_by",)

    @admin.display(description=_("readings"), ordering="readings_count")
    def readings_link(self, batch: ExportBatch) -> str:
        url = reverse("admin:readings_reading_changelist")
        return format_html('<a href="{}?batch={}">{}</a>', url, batch.pk, batch.readings_count)


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    """Supervisors force a date working or not; the list shows the next three windows it gives."""

    list_display = ("date", "is_working", "note")
    list_filter = ("is_working",)
    change_list_template = "admin/readings/calendaroverride/change_list.html"

    def changelist_view(self, request, extra_context=None):
        today = timezone.localdate()
        current = selectors.window_on(today).period
        windows = [selectors.window_for_period(add_months(current, months)) for months in range(3)]
        return super().changelist_view(request, {**(extra_context or {}), "windows": windows})


# One colour per channel (Reading.Channel has nine), so no two share one on the dashboard.
CHANNEL_COLOURS = (
    "#417690",
    "#7b519d",
    "#1877f2",
    "#d98a00",
    "#2e7d4f",
    "#8e44ad",
    "#c0392b",
    "#555555",
    "#00838f",
)


class PeriodForm(forms.Form):
    """A period: the 1st of a month."""

    period = forms.DateField(
        label=_("Period"),
        help_text=_("The 1st of the month, e.g. 2026-12-01."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def clean_period(self):
        period = self.cleaned_data["period"]
        if period.day != 1:
            raise forms.ValidationError(_("Give the period as the 1st of a month: YYYY-MM-01."))
        try:
            check_in_range(period)
        except DomainError as refusal:
            raise forms.ValidationError(refusal.message) from None
        return period


class ExportForm(PeriodForm):
    format = forms.ChoiceField(label=_("Format"), choices=ExportBatch.Format.choices)
    new_only = forms.BooleanField(
        label=_("Only what is new since the earlier exports"),
        help_text=_("Readings billing has not had yet, or not with their current status (approved, superseded…)."),
        required=False,
    )


# The reason that asks for evidence: the resident answers with a photo in the bot or the cabinet.
PHOTO_REQUEST = _("Send a photo of the meter display.")


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason the resident will read"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
    )
    ask_photo = forms.BooleanField(
        label=_("Ask for a photo of the meter (the resident can answer with one in the bot or the cabinet)"),
        required=False,
    )

    def clean(self):
        data = super().clean()
        reason = (data.get("reason") or "").strip()
        if data.get("ask_photo"):
            reason = f"{reason} {PHOTO_REQUEST}".strip()
        if not reason:
            raise forms.ValidationError(_("Say why the reading is rejected: the resident reads the reason."))
        data["reason"] = reason
        return data


@admin.register(ReadingForReview)
class ReviewQueueAdmin(ReceiptSearch, ReadOnlyAdmin):
    """Readings held for review, oldest first, each with the meter's previous accepted reading beside it."""

    list_display = (
        "account_number",
        "meter",
        "period",
        "values_display",
        "consumption_display",
        "previous_display",
        "photos_display",
        "review_reason",
        "channel",
        "submitted_at",
    )
    list_filter = ("review_reason", "channel", "period")
    search_fields = ("=meter__serial", "=meter__account__number", "=meter__account__eic", "=channel_user_key")
    list_select_related = ("meter__account",)
    ordering = ("submitted_at",)
    actions = ["approve_selected", "reject_selected"]

    def get_queryset(self, request):
        previous = Reading.objects.filter(
            meter=OuterRef("meter"), status=Reading.Status.ACCEPTED, period__lt=OuterRef("period")
        ).order_by("-period")
        return (
            super()
            .get_queryset(request)
            .filter(status=Reading.Status.NEEDS_REVIEW)
            .prefetch_related("photos")
            .annotate(
                previous_period=Subquery(previous.values("period")[:1]),
                previous_value1=Subquery(previous.values("value1")[:1]),
                previous_value2=Subquery(previous.values("value2")[:1]),
                previous_value3=Subquery(previous.values("value3")[:1]),
            )
        )

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("readings.review_reading")

    @admin.display(description=_("account"), ordering="meter__account__number")
    def account_number(self, reading: Reading) -> str:
        return reading.meter.account.number

    @admin.display(description=_("values"))
    def values_display(self, reading: Reading) -> str:
        return reading.values_text

    @admin.display(description=_("consumption, kWh"))
    def consumption_display(self, reading: Reading) -> str:
        return " + ".join(map(str, reading.consumption or ())) or "—"

    @admin.display(description=_("previous accepted"))
    def previous_display(self, reading: Reading) -> str:
        if reading.previous_period is None:
            return "—"
        values = (reading.previous_value1, reading.previous_value2, reading.previous_value3)
        return f"{values_text([v for v in values if v is not None])} ({reading.previous_period:%m.%Y})"

    @admin.display(description=_("photo of the meter"))
    def photos_display(self, reading: Reading) -> str:
        """Thumbnails through the protected view (the storage itself is never public)."""
        photos = reading.photos.all()
        if not photos:
            return "—"
        return format_html_join(
            " ",
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" width="80" loading="lazy"></a>',
            ((url, url, _("photo of the meter")) for url in (reverse("photo_file", args=[p.pk]) for p in photos)),
        )

    @admin.action(description=_("Approve the selected readings"), permissions=["review"])
    def approve_selected(self, request, queryset) -> None:
        done = decide_each(self, request, queryset, lambda pk: reading_approve(reading_id=pk, reviewed_by=request.user))
        self.message_user(request, _("Approved: %(count)d.") % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Reject the selected readings…"), permissions=["review"])
    def reject_selected(self, request, queryset):
        form = RejectForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": _("Reject readings"),
                "readings": queryset,
                "form": form,
                "opts": self.model._meta,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/readings/reject.html", context)
        reason = form.cleaned_data["reason"]
        done = decide_each(
            self, request, queryset, lambda pk: reading_reject(reading_id=pk, reviewed_by=request.user, reason=reason)
        )
        self.message_user(request, _("Rejected: %(count)d.") % {"count": done}, messages.SUCCESS)
        return None


def decide_each(model_admin: admin.ModelAdmin, request, queryset, decide) -> int:
    """Run a review service on each selected reading; a refusal is shown and the rest go on."""
    done = 0
    for pk in queryset.values_list("pk", flat=True):
        try:
            decide(pk)
        except DomainError as refusal:
            model_admin.message_user(request, refusal.message, messages.WARNING)
        else:
            done += 1
    return done
