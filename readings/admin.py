from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from portal.admin import ReadOnlyAdmin
from readings.models import CalendarOverride, Reading


@admin.register(Reading)
class ReadingAdmin(ReadOnlyAdmin):
    """Read-only for now: readings change only through the services (the staff issue adds actions)."""

    list_display = ("meter", "account_number", "period", "values_display", "status", "channel", "submitted_at")
    list_filter = ("status", "channel", "period", "meter__zones")
    search_fields = ("=meter__serial", "=meter__account__number", "=meter__account__eic")
    list_select_related = ("meter__account", "submitted_by")
    date_hierarchy = "period"

    @admin.display(description=_("account"), ordering="meter__account__number")
    def account_number(self, reading: Reading) -> str:
        return reading.meter.account.number

    @admin.display(description=_("values"))
    def values_display(self, reading: Reading) -> str:
        return "/".join(map(str, reading.values))


@admin.register(CalendarOverride)
class CalendarOverrideAdmin(admin.ModelAdmin):
    list_display = ("date", "is_working", "note")
    list_filter = ("is_working",)
