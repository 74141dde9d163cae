"""What every app's admin shares."""

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList


class BoundedDrilldownChangeList(ChangeList):
    """Django's date drill-down reckons the next day, month or year of the date asked for with no
    bound: year 9999 gives "year 10000 is out of range", its last day an OverflowError, a 500.
    Such a date is a wrong lookup like any other (Django answers ?e=1)."""

    def get_filters(self, request):
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error


class DateDrilldownAdmin(admin.ModelAdmin):
    """An admin list with `date_hierarchy`: extreme dates in its query are refused, not a 500."""

    def get_changelist(self, request, **kwargs):
        return BoundedDrilldownChangeList


class ReadOnlyAdmin(admin.ModelAdmin):
    """A list staff look at but never edit here: these rows change only through the services."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
