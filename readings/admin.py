from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from accounts.errors import DomainError
from portal.admin import DateDrilldownAdmin, ReadOnlyAdmin
from readings import export, selectors
from readings.labels import values_text
from readings.models import CalendarOverride, Reading, ReadingForReview
from readings.services import reading_approve, reading_flag, reading_reject
from readings.window import add_months, check_in_range


@admin.register(Reading)
class ReadingAdmin(SimpleHistoryAdmin, DateDrilldownAdmin, ReadOnlyAdmin):
    """Read-only for now: readings change only through the services (the staff issue adds actions)."""

    list_display = ("meter", "account_number", "period", "values_display", "status", "channel", "submitted_at")
    list_filter = ("status", "channel", "period", "meter__zones")
    search_fields = ("=meter__serial", "=meter__account__number", "=meter__account__eic", "=channel_user_key")
    list_select_related = ("meter__account", "submitted_by")
    date_hierarchy = "period"

    actions = ["flag_selected"]
    change_list_template = "admin/readings/reading/change_list.html"

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
            return export.period_response(request, form.cleaned_data["period"], form.cleaned_data["format"])
        context = {**self.admin_site.each_context(request), "title": _("Export for billing"), "form": form}
        context["opts"] = self.model._meta
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
    format = forms.ChoiceField(label=_("Format"), choices=[("csv", "CSV"), ("xlsx", "XLSX (Excel)")])


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason the resident will read"), max_length=300, widget=forms.Textarea(attrs={"rows": 3, "cols": 60})
    )


@admin.register(ReadingForReview)
class ReviewQueueAdmin(ReadOnlyAdmin):
    """Readings held for review, oldest first, each with the meter's previous accepted reading beside it."""

    list_display = (
        "account_number",
        "meter",
        "period",
        "values_display",
        "consumption_display",
        "previous_display",
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
