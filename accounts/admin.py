from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import AccountLink, Meter, PersonalAccount, User

admin.site.register(User, UserAdmin)


class MeterInline(admin.TabularInline):
    model = Meter
    extra = 0
    fields = ("serial", "zones", "digits", "installed_on", "removed_on", "is_active")


@admin.register(PersonalAccount)
class PersonalAccountAdmin(SimpleHistoryAdmin):
    list_display = ("number", "address", "holder_name", "eic", "is_active")
    list_filter = ("is_active",)
    search_fields = ("=number", "=eic", "address", "holder_name")
    inlines = [MeterInline]


@admin.register(Meter)
class MeterAdmin(SimpleHistoryAdmin):
    list_display = ("serial", "account", "zones", "digits", "installed_on", "removed_on", "is_active")
    list_filter = ("zones", "is_active")
    search_fields = ("=serial", "=account__number")
    list_select_related = ("account",)
    raw_id_fields = ("account",)


@admin.register(AccountLink)
class AccountLinkAdmin(SimpleHistoryAdmin):
    list_display = ("user", "account", "created_at", "reminders_enabled")
    search_fields = ("=account__number", "user__username", "user__email")
    list_select_related = ("user", "account")
    raw_id_fields = ("user", "account")
