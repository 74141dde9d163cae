import datetime as dt
from collections.abc import Sequence

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from accounts.errors import DomainError
from portal.admin import DateDrilldownAdmin, ReadOnlyAdmin
from readings import export, selectors
from readings.errors import WindowMoveConfirmation
from readings.models import CalendarOverride, ExportBatch, Reading, ReadingForReview
from readings.periods import consumption_name, period_label
from readings.receipts import receipt_normalize
from readings.services import (
    calendar_override_delete,
    calendar_override_save,
    reading_approve,
    reading_flag,
    reading_reject,
)
from readings.window import add_months, check_in_range

# Periods the pickers offer: from two years back to the window after the current one.
PICKER_MONTHS_BACK = 24
FILTER_MONTHS_BACK = 11


def current_period() -> dt.date:
    """The period of the window open today, or of the next one: what staff mean by "now"."""
    return selectors.window_on(timezone.localdate()).period


def short_period(period: dt.date) -> str:
    """A period in a narrow column or a filter: "01.12.2026 (листопад 2026)", reading day and month of use."""
    return f"{period:%d.%m.%Y} ({consumption_name(period)})"


def kyiv_time(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%d.%m.%Y %H:%M") if moment else "—"


def breakable(values: Sequence[int]) -> SafeString:
    """A reading as 1111/2222 that may wrap after each "/" in a narrow column."""
    return SafeString("/<wbr>".join(str(value) for value in values))


class PeriodFilter(admin.SimpleListFilter):
    """Periods as months (the reading day and the month of use), the latest first: a period is
    always a 1st, so "today" or "the last 7 days" would find nothing."""

    title = _("period")
    parameter_name = "period"

    def lookups(self, request, model_admin):
        newest = add_months(current_period(), 1)
        periods = (add_months(newest, -months) for months in range(FILTER_MONTHS_BACK + 2))
        return [(f"{period:%Y-%m-%d}", short_period(period)) for period in periods]

    def queryset(self, request, queryset):
        return queryset.filter(period=self.value()) if self.value() else queryset


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


class ReadingColumns:
    """The columns the readings list and the review queue show alike."""

    @admin.display(description=_("account, meter"), ordering="meter__account__number")
    def account_display(self, reading: Reading) -> str:
        return account_and_meter(reading)

    @admin.display(description=_("period"), ordering="period")
    def period_display(self, reading: Reading) -> str:
        return short_period(reading.period)


@admin.register(Reading)
class ReadingAdmin(ReceiptSearch, ReadingColumns, SimpleHistoryAdmin, DateDrilldownAdmin, ReadOnlyAdmin):
    """Read-only for now: readings change only through the services (the staff issue adds actions)."""

    list_display = (
        "receipt_display",
        "account_display",
        "period_display",
        "values_display",
        "status",
        "channel",
        "submitted_display",
        "exported_display",
    )
    list_filter = ("status", "channel", PeriodFilter, "meter__zones", BillingFilter, ExportBatchFilter)
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
        current = current_period()
        form = PeriodForm(request.GET or None, current=current)
        period = form.cleaned_data["period"] if form.is_valid() else current
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
        form = ExportForm(request.GET or None, current=current_period())
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

    @admin.display(description=_("values"))
    def values_display(self, reading: Reading) -> str:
        return breakable(reading.values)

    @admin.display(description=_("receipt"), ordering="receipt")
    def receipt_display(self, reading: Reading) -> str:
        return reading.receipt_display

    @admin.display(description=_("submitted"), ordering="submitted_at")
    def submitted_display(self, reading: Reading) -> str:
        return kyiv_time(reading.submitted_at)

    @admin.display(description=_("passed to billing"), ordering="exported_at")
    def exported_display(self, reading: Reading) -> str:
        return kyiv_time(reading.exported_at)


def account_and_meter(reading: Reading) -> str:
    """The account number, the meter's serial under it: one narrow column instead of two."""
    return format_html('{}<br><span class="quiet">{}</span>', reading.meter.account.number, reading.meter.serial)


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
    list_filter = (PeriodFilter, "format", "new_only")
    list_select_related = ("exported_by",)

    @admin.display(description=_("readings"), ordering="readings_count")
    def readings_link(self, batch: ExportBatch) -> str:
        url = reverse("admin:readings_reading_changelist")
        return format_html('<a href="{}?batch={}">{}</a>', url, batch.pk, batch.readings_count)


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(SimpleHistoryAdmin):
    """Supervisors force a date working or not, through the services (audited); the list shows
    the next three windows it gives, and a change that moves the current window asks first."""

    list_display = ("date", "is_working", "note")
    list_filter = ("is_working",)
    change_list_template = "admin/readings/calendaroverride/change_list.html"
    delete_confirmation_template = "admin/readings/calendaroverride/delete_confirmation.html"
    actions = None  # no bulk delete: each removal is shown with the window it moves

    def changelist_view(self, request, extra_context=None):
        current = current_period()
        windows = [selectors.window_for_period(add_months(current, months)) for months in range(3)]
        return super().changelist_view(request, {**(extra_context or {}), "windows": windows})

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except WindowMoveConfirmation as move:
            # Nothing was written (the service refused inside the form's transaction): the same
            # form again, as hidden fields, with the old and new dates and a button to go on.
            context = {
                **self.admin_site.each_context(request),
                "title": _("Move the readings window?"),
                "opts": self.model._meta,
                "message": move.message,
                "posted": [
                    (name, value)
                    for name, values in request.POST.lists()
                    if name not in ("csrfmiddlewaretoken", "confirm_move")
                    for value in values
                ],
            }
            return TemplateResponse(request, "admin/readings/calendaroverride/confirm_move.html", context)

    def save_model(self, request, obj: CalendarOverride, form, change: bool) -> None:
        saved = calendar_override_save(
            date=obj.date,
            is_working=obj.is_working,
            note=obj.note,
            saved_by=request.user,
            override_id=obj.pk if change else None,
            confirm="confirm_move" in request.POST,  # the button of confirm_move.html
        )
        obj.pk, obj._state.adding, obj._state.db = saved.pk, False, saved._state.db

    def delete_view(self, request, object_id, extra_context=None):
        override = self.get_object(request, object_id)
        move = selectors.window_move(changes={override.date: None}) if override else None
        notice = WindowMoveConfirmation.between(*move).message if move else None
        return super().delete_view(request, object_id, {**(extra_context or {}), "window_move": notice})

    def delete_model(self, request, obj: CalendarOverride) -> None:
        # Django's confirmation page has shown the window it moves (delete_view): this is the yes.
        calendar_override_delete(override_id=obj.pk, deleted_by=request.user, confirm=True)


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
    """A period picked as a month, the current window's by default; any 1st of a month in range
    also comes by URL (?period=2026-12-01, the dashboard's arrows)."""

    period = forms.DateField(label=_("Period"), widget=forms.Select)

    def __init__(self, *args, current: dt.date, **kwargs) -> None:
        super().__init__(*args, initial={"period": current}, **kwargs)
        newest = add_months(current, 1)
        periods = (add_months(newest, -months) for months in range(PICKER_MONTHS_BACK + 2))
        self.fields["period"].widget.choices = [(f"{p:%Y-%m-%d}", capfirst(period_label(p))) for p in periods]

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
class ReviewQueueAdmin(ReceiptSearch, ReadingColumns, ReadOnlyAdmin):
    """Readings held for review, oldest first, each with the meter's previous accepted reading
    beside it; narrow enough for a 1366 px screen with the decision buttons above the list."""

    list_display = (
        "account_display",
        "period_display",
        "values_display",
        "previous_display",
        "photos_display",
        "review_reason",
        "sent_display",
    )
    list_filter = ("review_reason", "channel", PeriodFilter)
    search_fields = ("=meter__serial", "=meter__account__number", "=meter__account__eic", "=channel_user_key")
    list_select_related = ("meter__account",)
    ordering = ("submitted_at",)
    actions = ["approve_selected", "reject_selected"]

    def get_queryset(self, request):
        held = super().get_queryset(request).filter(status=Reading.Status.NEEDS_REVIEW).prefetch_related("photos")
        return selectors.readings_with_previous(held)

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm("readings.review_reading")

    @admin.display(description=_("reading, kWh used"))
    def values_display(self, reading: Reading) -> str:
        used = " + ".join(map(str, reading.consumption or ())) or "—"
        return format_html('<strong>{}</strong><br><span class="quiet">{}</span>', breakable(reading.values), used)

    @admin.display(description=_("previous accepted"))
    def previous_display(self, reading: Reading) -> str:
        if reading.previous_period is None:
            return "—"
        values = (reading.previous_value1, reading.previous_value2, reading.previous_value3)
        values = [value for value in values if value is not None]
        as_of = gettext("as of {day}").format(day=f"{reading.previous_period:%d.%m.%Y}")
        return format_html('{}<br><span class="quiet">{}</span>', breakable(values), as_of)

    @admin.display(description=_("photo of the meter"))
    def photos_display(self, reading: Reading) -> str:
        """Thumbnails through the protected view (the storage itself is never public)."""
        photos = reading.photos.all()
        if not photos:
            return "—"
        return format_html_join(
            " ",
            '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" width="48" loading="lazy"></a>',
            ((url, url, _("photo of the meter")) for url in (reverse("photo_file", args=[p.pk]) for p in photos)),
        )

    @admin.display(description=_("channel, sent"), ordering="submitted_at")
    def sent_display(self, reading: Reading) -> str:
        return format_html(
            '{}<br><span class="quiet">{}</span>', reading.get_channel_display(), kyiv_time(reading.submitted_at)
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
            # An empty reason is refused here, in the staff's language (the form has no
            # browser-side check, whose message would be in the browser's language).
            status = 400 if form.is_bound else 200
            return TemplateResponse(request, "admin/readings/reject.html", context, status=status)
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
